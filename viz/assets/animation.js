(function () {
  var data = JSON.parse(document.getElementById("frames").textContent);
  var frames = data.frames;
  var slider = document.getElementById("slider");
  var play = document.getElementById("play");
  var position = document.getElementById("position");
  var caption = document.getElementById("caption");
  var cells = {}, reached = [], current = [];
  frames.forEach(function (frame) {
    frame.c.forEach(function (change) {
      var id = change[0];
      if (cells[id]) { return; }
      var text = document.getElementById(id), fill = document.getElementById(id + "-bg");
      cells[id] = { text: text, fill: fill, first: [text.textContent, fill.getAttribute("fill"),
                                                     text.getAttribute("fill")] };
    });
  });
  Object.keys(data.reach).forEach(function (id) {
    var element = document.getElementById(id);
    if (element) { reached.push([element, data.reach[id]]); }
  });
  function set(change) {
    var cell = cells[change[0]];
    cell.text.textContent = change[1];
    cell.fill.setAttribute("fill", change[2]);
    cell.text.setAttribute("fill", change[3]);
  }
  var applied = 0, shown = 0, timer = null;
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    if (k < applied) {
      Object.keys(cells).forEach(function (id) { set([id].concat(cells[id].first)); });
      applied = 0;
    }
    while (applied < k) { applied += 1; frames[applied].c.forEach(set); }
    reached.forEach(function (pair) { pair[0].classList.toggle("faded", k > 0 && pair[1] > k); });
    current.forEach(function (element) { element.classList.remove("current"); });
    current = [];
    frames[k].n.forEach(function (id) {
      var element = document.getElementById(id);
      if (element) { element.classList.add("current"); current.push(element); }
    });
    caption.textContent = "";
    frames[k].t.forEach(function (line, i) {
      var p = document.createElement("p");
      p.className = i === 0 ? "title" : "step";
      p.textContent = line;
      caption.appendChild(p);
    });
    shown = k;
    slider.value = k;
    position.textContent = k === 0 ? "forward pass" : "step " + k + " of " + (frames.length - 1);
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
  function toggle() {
    if (timer) { stop(); return; }
    if (shown === frames.length - 1) { show(0); }
    play.textContent = "Pause";
    timer = setInterval(function () {
      if (shown === frames.length - 1) { stop(); } else { show(shown + 1); }
    }, 1500);
  }
  document.getElementById("previous").onclick = function () { stop(); show(shown - 1); };
  document.getElementById("next").onclick = function () { stop(); show(shown + 1); };
  play.onclick = toggle;
  slider.oninput = function () { stop(); show(Number(slider.value)); };
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target === slider || target.isContentEditable ||
        /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
    if (event.key === "ArrowRight") { stop(); show(shown + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { stop(); show(shown - 1); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  show(0);
})();
