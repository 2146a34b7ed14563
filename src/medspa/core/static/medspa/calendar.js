// The day calendar: EventCalendar's resource time grid fed by /calendar/events.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("calendar-config").textContent);
  const element = document.getElementById("calendar");
  const pad = (n) => String(n).padStart(2, "0");
  const calendar = EventCalendar.create(element, {
    view: "resourceTimeGridDay",
    date: config.date,
    resources: config.resources,
    eventSources: [{ url: config.eventsUrl }],
    headerToolbar: { start: "prev,next today", center: "title", end: "resourceTimeGridDay,resourceTimeGridWeek" },
    buttonText: (text) => ({ ...text, resourceTimeGridDay: "Day", resourceTimeGridWeek: "Week", today: "Today" }),
    slotDuration: "00:" + pad(config.slotMinutes),
    slotMinTime: "07:00",
    slotMaxTime: "21:00",
    scrollTime: "08:30",
    nowIndicator: true,
    allDaySlot: false,
    height: "calc(100vh - 12rem)",
    eventTimeFormat: { hour: "numeric", minute: "2-digit" },
    eventDidMount: (info) => {
      const props = info.event.extendedProps || {};
      if (props.status) {
        info.el.setAttribute("title", info.event.title + " (" + props.status + ")");
      }
    },
  });
  window.medspaCalendar = calendar;
})();
