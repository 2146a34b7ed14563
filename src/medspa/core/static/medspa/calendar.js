// The day calendar: EventCalendar's resource time grid fed by /calendar/events.
// Clicking an empty slot opens the booking form, clicking an appointment opens its panel,
// and dragging asks the server to move it (the calendar snaps back when refused).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("calendar-config").textContent);
  const element = document.getElementById("calendar");
  const toast = document.getElementById("toast");
  const pad = (n) => String(n).padStart(2, "0");
  const localDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const localTime = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  let toastTimer = null;

  function say(message, kind) {
    toast.textContent = message;
    toast.className = "toast " + (kind || "");
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, kind === "refused" ? 9000 : 4000);
  }

  function openPanel(url) {
    htmx.ajax("GET", url, { target: "#drawer-body", swap: "innerHTML" });
  }

  async function move(info) {
    const props = info.event.extendedProps;
    const body = new URLSearchParams({
      reservation: info.event.id,
      start: `${localDate(info.event.start)}T${localTime(info.event.start)}`,
    });
    if (info.newResource) body.set("resource", info.newResource.id);
    let answer = null;
    try {
      const response = await fetch(`/calendar/appointments/${props.appointment}/move`, {
        method: "POST",
        headers: { "X-CSRFToken": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
        body,
      });
      answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(answer.detail || "The move was refused.");
      say(answer.detail || "Moved.", "done");
    } catch (error) {
      info.revert();
      say(`Not moved: ${error.message}`, "refused");
    }
    calendar.refetchEvents();
  }

  // A week of every column at once is unreadable: the week shows one column, chosen here.
  const weekOf = document.getElementById("week-column");
  const weekOfLabel = document.getElementById("week-column-label");
  function showWeekOf(week) {
    if (!calendar) return;
    weekOfLabel.hidden = !week;
    const wanted = week
      ? config.resources.filter((r) => String(r.id) === weekOf.value)
      : config.resources;
    if (calendar.getOption("resources").length !== wanted.length) {
      calendar.setOption("resources", wanted);
    }
  }
  weekOf.addEventListener("change", () => {
    calendar.setOption("resources", config.resources.filter((r) => String(r.id) === weekOf.value));
  });

  let calendar = null;
  calendar = EventCalendar.create(element, {
    view: "resourceTimeGridDay",
    date: config.date,
    resources: config.resources,
    eventSources: [{ url: config.eventsUrl }],
    headerToolbar: { start: "prev,next today", center: "title", end: "resourceTimeGridDay,resourceTimeGridWeek" },
    buttonText: (text) => ({ ...text, resourceTimeGridDay: "Day", resourceTimeGridWeek: "Week", today: "Today" }),
    slotDuration: "00:" + pad(config.slotMinutes),
    snapDuration: "00:" + pad(config.slotMinutes),
    slotMinTime: "07:00",
    slotMaxTime: "21:00",
    scrollTime: "08:30",
    nowIndicator: true,
    allDaySlot: false,
    height: "calc(100vh - 12rem)",
    eventTimeFormat: { hour: "numeric", minute: "2-digit" },
    // Each event says whether it may move (booked or confirmed, and the role may reschedule).
    eventStartEditable: false,
    eventDurationEditable: false,
    dateClick: (info) => {
      if (!config.bookUrl) return;
      const params = new URLSearchParams({
        location: config.location,
        date: localDate(info.date),
        time: localTime(info.date),
      });
      if (info.resource) params.set("resource", info.resource.id);
      openPanel(`${config.bookUrl}?${params}`);
    },
    eventClick: (info) => {
      const id = info.event.extendedProps.appointment;
      if (id) openPanel(`/calendar/appointments/${id}/`);
    },
    eventDrop: move,
    datesSet: (info) => {
      showWeekOf(info.view.type === "resourceTimeGridWeek");
      const link = document.getElementById("new-appointment");
      if (link) {
        const url = new URL(link.href);
        url.searchParams.set("date", localDate(calendar ? calendar.getOption("date") : info.start));
        link.href = url.toString();
      }
    },
    eventDidMount: (info) => {
      if (info.event.display === "background" && info.event.title) {
        info.el.setAttribute("title", info.event.title);
      }
      const props = info.event.extendedProps || {};
      if (props.status) {
        info.el.setAttribute("title", info.event.title + " (" + props.status + ")");
      }
    },
  });
  // EventCalendar marks its grid up as a table whose row groups hold no rows, which
  // misleads screen readers; present it as a labelled, keyboard-scrollable region instead
  // (the day sheet is the list view of the same day).
  function tidyMarkup() {
    const root = element.querySelector(".ec");
    if (root && root.getAttribute("role") !== "region") {
      root.setAttribute("role", "region");
      root.setAttribute("aria-label", element.getAttribute("aria-label") || "Calendar");
    }
    element.querySelectorAll("[role=rowgroup], [role=row], [role=columnheader], [role=rowheader], [role=cell]").forEach((node) => {
      node.removeAttribute("role");
    });
    element.querySelectorAll("[aria-colindex], [aria-colspan], [aria-rowindex]").forEach((node) => {
      ["aria-colindex", "aria-colspan", "aria-rowindex"].forEach((name) => node.removeAttribute(name));
    });
    const main = element.querySelector(".ec-main");
    if (main && !main.hasAttribute("tabindex")) {
      main.setAttribute("tabindex", "0");
    }
  }
  tidyMarkup();
  new MutationObserver(tidyMarkup).observe(element, { childList: true, subtree: true });
  // "New appointment" opens the form in the drawer (the link still works without script).
  const newAppointment = document.getElementById("new-appointment");
  if (newAppointment) {
    newAppointment.addEventListener("click", (event) => {
      event.preventDefault();
      openPanel(newAppointment.getAttribute("href"));
    });
  }
  window.medspaCalendar = calendar;
  document.body.addEventListener("calendarChanged", () => calendar.refetchEvents());
})();
