/// The dashboard's one script and one style sheet, compiled into the binary: nothing is fetched from
/// anywhere else, and no file system path is ever served.
enum DashboardAssets {
    /// The assets by their path under `/static/`.
    static func asset(_ name: String) -> (text: String, contentType: String)? {
        switch name {
        case "app.js": return (script, "text/javascript; charset=utf-8")
        case "app.css": return (style, "text/css; charset=utf-8")
        default: return nil
        }
    }

    /// Keeps the service list live (`/events`), marks a service page whose service went away, and sends
    /// the call forms to `/rpc`. Text from outside is only ever set as `textContent`.
    static let script = #"""
    (function () {
      'use strict';
      function el(tag, text) { var e = document.createElement(tag); if (text !== undefined) { e.textContent = text; } return e; }
      function render(list) {
        var tbody = document.getElementById('services-body');
        if (tbody) {
          while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
          list.forEach(function (s) {
            var tr = el('tr'); tr.className = 'service'; tr.setAttribute('data-name', s.name);
            var td = el('td'); var a = el('a', s.name); a.href = '/service/' + encodeURIComponent(s.name); td.appendChild(a); tr.appendChild(td);
            tr.appendChild(el('td', s.versions.join(', ')));
            tr.appendChild(el('td', String(s.nodes)));
            tbody.appendChild(tr);
          });
          var empty = document.getElementById('no-services');
          if (empty) { empty.hidden = list.length > 0; }
        }
        var page = document.getElementById('service-name');
        var gone = document.getElementById('gone');
        if (page && gone) {
          var name = page.getAttribute('data-service');
          gone.hidden = list.some(function (s) { return s.name === name && s.nodes > 0; });
        }
        document.body.setAttribute('data-updates', String(Number(document.body.getAttribute('data-updates') || '0') + 1));
      }
      if (window.EventSource) {
        var source = new EventSource('/events');
        source.addEventListener('services', function (ev) {
          try { render(JSON.parse(ev.data)); } catch (e) { /* a malformed event changes nothing */ }
        });
      }
      var logs = document.getElementById('logs');
      if (logs && window.EventSource) {
        var tail = new EventSource(logs.getAttribute('data-source'));
        tail.addEventListener('log', function (ev) {
          var lines;
          try { lines = JSON.parse(ev.data); } catch (e) { return; }
          lines.forEach(function (l) {
            var when = new Date(l.time / 1e6).toISOString().substring(11, 23);
            logs.appendChild(document.createTextNode(when + ' ' + l.node.substring(0, 16) + ' ' + l.level + ' ' + l.label + ': ' + l.message + '\n'));
          });
          while (logs.childNodes.length > 200) { logs.removeChild(logs.firstChild); }
          logs.scrollTop = logs.scrollHeight;
        });
        tail.addEventListener('failure', function (ev) {
          logs.appendChild(document.createTextNode('log unavailable: ' + ev.data + '\n'));
        });
      }
      Array.prototype.forEach.call(document.querySelectorAll('form.call'), function (form) {
        form.addEventListener('submit', function (ev) {
          ev.preventDefault();
          var out = form.querySelector('.result');
          out.className = 'result'; out.textContent = '…';
          var request;
          try { request = JSON.parse(form.elements.request.value || '{}'); } catch (e) {
            out.className = 'result error'; out.textContent = 'not JSON: ' + e.message; return;
          }
          fetch('/rpc', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                          body: JSON.stringify({ service: form.getAttribute('data-service'), endpoint: form.getAttribute('data-endpoint'), request: request }) })
            .then(function (r) {
              return r.text().then(function (t) {
                var shown = t;
                try { shown = JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* shown as it came */ }
                out.className = r.ok ? 'result ok' : 'result error'; out.textContent = shown;
              });
            })
            .catch(function (e) { out.className = 'result error'; out.textContent = String(e); });
        });
      });
    })();
    """#

    static let style = """
    :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #f05138; --ok: #12805c; --bad: #c4320a; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f8f9fb; }
    header { display: flex; justify-content: space-between; align-items: center; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
    .brand { font-weight: 700; color: var(--accent); text-decoration: none; font-size: 18px; }
    .engines { color: var(--muted); font-size: 13px; }
    main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
    h1 { font-size: 24px; margin: 8px 0 16px; } h2 { font-size: 18px; margin: 24px 0 8px; } h3 { font-size: 16px; margin: 0 0 8px; }
    h4 { font-size: 12px; text-transform: uppercase; color: var(--muted); margin: 0 0 4px; }
    table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
    th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-size: 12px; text-transform: uppercase; color: var(--muted); background: #fcfcfd; }
    a { color: #1a56db; }
    .kv { display: inline-block; font: 12px ui-monospace, monospace; background: #f2f4f7; border-radius: 4px; padding: 1px 6px; margin: 1px; }
    .health.ok { color: var(--ok); font-weight: 600; } .health.error, .error { color: var(--bad); }
    .endpoint { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
    .shapes { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    pre { margin: 0; font: 13px/1.4 ui-monospace, monospace; background: #f2f4f7; padding: 8px; border-radius: 6px; white-space: pre-wrap; word-break: break-word; }
    form.call { margin-top: 10px; display: grid; gap: 6px; }
    textarea { width: 100%; font: 13px ui-monospace, monospace; padding: 6px; border: 1px solid var(--line); border-radius: 6px; }
    button { justify-self: start; background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 6px 16px; font-weight: 600; cursor: pointer; }
    .result:empty { display: none; } .result.ok { border-left: 3px solid var(--ok); } .result.error { border-left: 3px solid var(--bad); }
    small { color: var(--muted); font-weight: 400; }
    #logs { max-height: 320px; overflow: auto; }
    .waterfall td { padding: 4px 8px; font-size: 13px; } .span-name { white-space: nowrap; font-family: ui-monospace, monospace; }
    td.timeline, th.timeline { width: 30%; min-width: 160px; } svg.bar { display: block; width: 100%; height: 12px; background: #f2f4f7; }
    svg.bar rect { fill: #1a56db; } tr.error svg.bar rect { fill: var(--bad); } tr.error .status { color: var(--bad); }
    """
}
