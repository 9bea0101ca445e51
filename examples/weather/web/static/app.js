// The weather page: one EventSource at a time on /weather/{lat},{lng}/.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const coordPattern = /^-?\d{1,3}\.\d{2}$/;
  const compass = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
                   "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"];

  // What the page knows, also read by the end-to-end test.
  const page = {
    connection: "idle",   // idle | connecting | open | reconnecting | closed
    point: null,          // "lat,lng"
    weatherEvents: 0,     // weather events received on the current point
    lastReading: null,    // the last weather event's data
    lastUpdate: null,     // Date the last weather event arrived
    lastPing: null,       // Date the last ping arrived
    temperatures: [],     // the last readings' temperatures, oldest first
  };
  window.weatherPage = page;

  let source = null;

  const clock = (date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

  function setConnection(state) {
    page.connection = state;
    $("conn").dataset.state = state;
    document.body.dataset.connection = state;
    $("conn-text").textContent = state;
  }

  function log(type, detail) {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = clock(new Date());
    const kind = document.createElement("span");
    kind.className = "kind kind-" + type;
    kind.textContent = type;
    li.append(time, kind, document.createTextNode(detail || ""));
    const list = $("log");
    list.prepend(li);
    while (list.children.length > 6) list.lastElementChild.remove();
  }

  // Formats a lat/lng input the way the route wants it: two decimals.
  function coord(value, limit, name) {
    const text = String(value).trim();
    const n = Number(text);
    if (text === "" || !Number.isFinite(n)) throw new Error(name + " must be a number");
    if (Math.abs(n) > limit) throw new Error(name + " must be between -" + limit + " and " + limit);
    // -0.004 rounds to "-0.00", which the server refuses: a number has one spelling there.
    const fixed = Number(n.toFixed(2)) === 0 ? "0.00" : n.toFixed(2);
    if (!coordPattern.test(fixed)) throw new Error(name + " is out of range");
    return fixed;
  }

  function watch(lat, lng, name) {
    // Switching point: the old stream is closed before the new one opens,
    // so the server stops polling it.
    if (source) source.close();
    const point = lat + "," + lng;
    page.point = point;
    page.weatherEvents = 0;
    page.lastReading = null;
    page.lastUpdate = null;
    page.lastPing = null;
    page.temperatures = [];
    drawTrend();
    history.replaceState(null, "", "#" + point);

    $("lat").value = lat;
    $("lng").value = lng;
    $("place").textContent = name || "Custom point";
    $("coords").textContent = lat + "°, " + lng + "°";
    $("condition").textContent = "";
    $("empty").hidden = false;
    $("current").hidden = true;
    $("log").replaceChildren();
    for (const b of document.querySelectorAll(".preset")) {
      b.classList.toggle("active", b.dataset.lat === lat && b.dataset.lng === lng);
    }
    renderTimes();

    const url = "/weather/" + lat + "," + lng + "/";
    $("stream-url").textContent = "GET " + url;
    const es = new EventSource(url);
    source = es;
    setConnection("connecting");

    es.addEventListener("open", () => {
      if (es !== source) return;
      setConnection("open");
      log("open", "connected");
    });
    es.addEventListener("error", () => {
      if (es !== source) return;
      // CONNECTING: the browser retries by itself. CLOSED: it gave up
      // (a status other than 200), so say so.
      setConnection(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
      log("error", es.readyState === EventSource.CLOSED ? "stream refused" : "lost, retrying");
    });
    es.addEventListener("weather", (e) => {
      if (es !== source) return;
      const current = JSON.parse(e.data);
      page.weatherEvents++;
      page.lastReading = current;
      page.lastUpdate = new Date();
      page.temperatures.push(current.temperature_c);
      if (page.temperatures.length > 40) page.temperatures.shift();
      showReading(current);
      drawTrend();
      log("weather", current.temperature_c.toFixed(1) + " °C, " + current.condition);
    });
    es.addEventListener("ping", () => {
      if (es !== source) return;
      page.lastPing = new Date();
      renderTimes();
      log("ping", "");
    });
  }

  function showReading(c) {
    $("empty").hidden = true;
    $("current").hidden = false;
    $("temp").textContent = c.temperature_c.toFixed(1);
    $("condition").textContent = c.condition;
    $("condition").dataset.condition = c.condition.toLowerCase().replace(/\s+/g, "-");
    $("humidity").textContent = c.humidity_pct;
    $("wind").textContent = c.wind_kmh.toFixed(1);
    const dir = ((c.wind_direction_deg % 360) + 360) % 360;
    $("wind-dir").textContent = "from " + compass[Math.round(dir / 22.5) % 16];
    $("observed").textContent = clock(new Date(c.time));
    renderTimes();
  }

  // Draws the temperatures received so far as a line, once there are two.
  function drawTrend() {
    const t = page.temperatures;
    $("trend").hidden = t.length < 2;
    if (t.length < 2) return;
    const lo = Math.min(...t), hi = Math.max(...t);
    const span = Math.max(hi - lo, 1); // a flat line stays mid-height
    const mid = (lo + hi) / 2;
    const points = t.map((v, i) => {
      const x = (i / (t.length - 1)) * 600;
      const y = 35 - ((v - mid) / span) * 58;
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    $("trend-line").setAttribute("points", points.join(" "));
    $("trend-range").textContent = lo.toFixed(1) + " – " + hi.toFixed(1) + " °C";
  }

  function ago(date) {
    if (!date) return "never";
    const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    return clock(date) + " · " + (s < 2 ? "just now" : s + " s ago");
  }

  function renderTimes() {
    $("last-update").textContent = ago(page.lastUpdate);
    $("last-ping").textContent = ago(page.lastPing);
  }

  function fromHash() {
    const m = /^#(-?\d{1,3}\.\d{2}),(-?\d{1,3}\.\d{2})$/.exec(location.hash);
    if (!m) return null;
    const preset = document.querySelector('.preset[data-lat="' + m[1] + '"][data-lng="' + m[2] + '"]');
    return { lat: m[1], lng: m[2], name: preset ? preset.dataset.name : "" };
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("point-form").addEventListener("submit", (e) => {
      e.preventDefault();
      try {
        const lat = coord($("lat").value, 90, "Latitude");
        const lng = coord($("lng").value, 180, "Longitude");
        $("form-error").textContent = "";
        const preset = document.querySelector('.preset[data-lat="' + lat + '"][data-lng="' + lng + '"]');
        watch(lat, lng, preset ? preset.dataset.name : "");
      } catch (err) {
        $("form-error").textContent = err.message;
      }
    });
    for (const b of document.querySelectorAll(".preset")) {
      b.addEventListener("click", () => {
        $("form-error").textContent = "";
        watch(b.dataset.lat, b.dataset.lng, b.dataset.name);
      });
    }
    setInterval(renderTimes, 1000);
    // An edited or linked #lat,lng switches point too.
    window.addEventListener("hashchange", () => {
      const p = fromHash();
      if (p && p.lat + "," + p.lng !== page.point) watch(p.lat, p.lng, p.name);
    });

    const start = fromHash();
    if (start) {
      watch(start.lat, start.lng, start.name);
    } else {
      const first = document.querySelector(".preset");
      watch(first.dataset.lat, first.dataset.lng, first.dataset.name);
    }
  });
})();
