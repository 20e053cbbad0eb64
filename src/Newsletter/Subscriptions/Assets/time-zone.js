// The subscribe page's time-zone guess: fills the empty time-zone field with the browser's own
// zone, so the digest arrives in the visitor's morning; they can still change it. Served from this
// site (script-src 'self'), never inline, so the pages' Content-Security-Policy allows it. Without
// JavaScript the field stays empty and the service's default zone applies. A value already there
// (typed, or kept after a refused form) wins.
(function () {
  "use strict";
  var field = document.getElementById("timeZone");
  if (!field || field.value) return;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) field.value = zone;
  } catch (e) {
    // A browser without Intl: the default zone applies.
  }
})();
