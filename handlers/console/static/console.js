// Shows every <time datetime="..."> in the viewer's time zone, labelled with the zone.
// Without JavaScript the page shows the same times in UTC, labelled "UTC".
(function () {
  "use strict";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function zoneName(date) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date);
      for (var i = 0; i < parts.length; i++) { if (parts[i].type === "timeZoneName") { return parts[i].value; } }
    } catch (e) { /* old browsers: fall through */ }
    return "local";
  }
  function localise() {
    var zone = null;
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at.getTime())) { continue; }
      zone = zoneName(at);
      el.title = el.textContent;
      el.textContent = at.getFullYear() + "-" + pad(at.getMonth() + 1) + "-" + pad(at.getDate()) + " " +
        pad(at.getHours()) + ":" + pad(at.getMinutes()) + " " + zone;
    }
    var note = document.querySelector(".tz-note");
    if (note) {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone || zone || "local time";
      note.textContent = "Times in your time zone (" + tz + "); hover a time for UTC";
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", localise); } else { localise(); }
})();
