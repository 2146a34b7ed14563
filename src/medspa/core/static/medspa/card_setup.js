// Add a card: Stripe's card form (Elements) in the page, the SetupIntent confirmed in the
// browser, then the form posted with its id and the consent. The card number stays with
// Stripe. Loaded only on that page and only when Stripe is set up; the server refuses a
// card without consent whatever happens here.
(function () {
  "use strict";
  const form = document.getElementById("card-form");
  if (!form || form.dataset.cardEntered === "1") return;
  const status = document.getElementById("card-status");
  const errors = document.getElementById("card-errors");
  const save = document.getElementById("card-save");
  if (typeof window.Stripe !== "function" || !form.dataset.publishableKey) {
    status.textContent = "Stripe's card form could not load. Check the connection (or the clinic's Stripe publishable key) and reload the page.";
    save.disabled = true;
    document.getElementById("card-element").hidden = true;
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  const payment = elements.create("payment", { wallets: { applePay: "never", googlePay: "never" } });
  payment.on("ready", function () { status.textContent = ""; });
  payment.mount("#card-element");
  let confirmed = false;
  form.addEventListener("submit", async function (event) {
    if (confirmed) return;
    event.preventDefault();
    // The consent first: the browser's own checks (required fields) before the card.
    if (!form.reportValidity()) return;
    save.disabled = true;
    errors.textContent = "";
    const result = await stripe.confirmSetup({ elements: elements, redirect: "if_required" });
    if (result.error) {
      errors.textContent = result.error.message || "The card could not be set up.";
      save.disabled = false;
      return;
    }
    confirmed = true;
    form.submit();
  });
})();
