// t2t Insights page: pick a model, translate, look at beams, pieces and attention.
// Talks only to this server: /api/list_models/ and /debug (see t2t/insights/app.py).
"use strict";

const KINDS = [
  { key: "encoder_self", label: "Encoder self-attention", rows: "input", cols: "input" },
  { key: "decoder_self", label: "Decoder self-attention", rows: "output", cols: "output" },
  { key: "encoder_decoder", label: "Encoder-decoder attention", rows: "output", cols: "input" },
];

const state = { models: [], attention: null, kind: null, layer: 0, head: 0 };

function $(id) {
  return document.getElementById(id);
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    node.setAttribute(name, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function getJson(url) {
  const response = await fetch(url);
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    throw new Error(`${url}: HTTP ${response.status}, not JSON`);
  }
  if (!response.ok) {
    const detail = body && (body.error || JSON.stringify(body.detail || body));
    throw new Error(detail || `HTTP ${response.status}`);
  }
  return body;
}

async function loadModels() {
  const data = await getJson("/api/list_models/");
  state.models = data.configuration;
  const select = $("model");
  select.replaceChildren();
  for (const model of state.models) {
    const text = `${model.id} (${model.source_language.name} → ${model.target_language.name})`;
    select.appendChild(element("option", { value: model.id }, text));
  }
}

async function translate(event) {
  event.preventDefault();
  showError("");
  const model = state.models.find((m) => m.id === $("model").value);
  if (!model) {
    showError("Pick a model first.");
    return;
  }
  const params = new URLSearchParams({
    source: $("source").value,
    sl: model.source_language.code,
    tl: model.target_language.code,
    id: model.id,
    beam_size: $("beam-size").value,
    alpha: $("alpha").value,
  });
  $("translate").disabled = true;
  $("status").textContent = "Translating…";
  try {
    const data = await getJson(`/debug?${params}`);
    showResult(data.result, model);
    $("status").textContent = "";
  } catch (err) {
    $("status").textContent = "";
    showError(err.message);
  } finally {
    $("translate").disabled = false;
  }
}

function visualization(result, name) {
  return result.find((v) => v.visualization_name === name);
}

function showResult(result, model) {
  const processing = visualization(result, "processing").query_processing;
  const steps = processing.target_processing;
  const final = steps.find((s) => s.step_name === "Final");
  $("translation").textContent = final.segment.map((s) => s.text).join(" ");
  $("translation").lang = model.target_language.code;
  const graph = visualization(result, "graph").search_graph;
  showBeams(visualization(result, "beams").beams, graph);
  showGraph(graph);
  state.attention = visualization(result, "attention").attention;
  showPieces($("input-pieces"), state.attention.input_pieces);
  showPieces($("output-pieces"), state.attention.output_pieces);
  $("results").hidden = false;
  $("attention").hidden = false;
  const first = KINDS.find((k) => state.attention[k.key].length > 0);
  selectAttention(first ? first.key : null, 0, 0);
}

function showBeams(beams, graph) {
  const body = $("beams").querySelector("tbody");
  body.replaceChildren();
  beams.forEach((beam, i) => {
    const row = element("tr", { class: i === 0 ? "best" : "" });
    row.appendChild(element("td", {}, String(i + 1)));
    row.appendChild(element("td", { class: "beam-text" }, beam.text));
    row.appendChild(element("td", { class: "number beam-score" }, beam.score.toFixed(3)));
    const total = lastEdgeTotal(graph, beam.ids);
    row.appendChild(element("td", { class: "number" }, total === null ? "" : total.toFixed(3)));
    body.appendChild(row);
  });
}

function lastEdgeTotal(graph, ids) {
  // A beam's total log-probability is that of its last edge: walk the graph from the root (vertex 0) along the beam's ids.
  let vertex = 0;
  let total = null;
  for (const id of ids) {
    const next = graph.node[vertex].out_edge_index
      .map((e) => graph.edge[e])
      .find((edge) => edge.data.label_id === id);
    if (!next) return null;
    vertex = next.target_index;
    total = next.data.total_log_probability;
  }
  return total;
}

function showGraph(graph) {
  // T2T's search graph (vertex 0: the empty prefix) as nested lists, one item per edge.
  function subtree(vertex) {
    const list = element("ul");
    for (const index of graph.node[vertex].out_edge_index) {
      const edge = graph.edge[index];
      const item = element("li", {
        class: edge.data.completed ? "graph-edge completed" : "graph-edge",
        "data-edge": index,
      });
      item.appendChild(element("span", { class: "piece" }, edge.data.label));
      let note = `log p ${edge.data.log_probability.toFixed(3)}`;
      if (edge.data.completed) note += `, score ${edge.data.score.toFixed(3)}`;
      item.appendChild(element("span", { class: "edge-logp" }, note));
      if (graph.node[edge.target_index].out_edge_index.length) {
        item.appendChild(subtree(edge.target_index));
      }
      list.appendChild(item);
    }
    return list;
  }
  $("graph").replaceChildren(subtree(0));
}

function showPieces(container, pieces) {
  container.replaceChildren();
  if (!pieces.length) container.appendChild(element("span", {}, "(none)"));
  for (const piece of pieces) {
    container.appendChild(element("span", { class: "piece" }, piece));
  }
}

function buttons(container, items, selected, onClick) {
  container.replaceChildren();
  for (const item of items) {
    const button = element("button", { type: "button", class: item.className }, item.label);
    for (const [name, value] of Object.entries(item.data)) button.dataset[name] = value;
    if (item.value === selected) button.classList.add("selected");
    button.disabled = Boolean(item.disabled);
    button.addEventListener("click", () => onClick(item.value));
    container.appendChild(button);
  }
}

function selectAttention(kind, layer, head) {
  const attention = state.attention;
  state.kind = kind;
  const layers = kind ? attention[kind] : [];
  state.layer = Math.min(layer, Math.max(layers.length - 1, 0));
  const heads = layers.length ? layers[state.layer].length : 0;
  state.head = Math.min(head, Math.max(heads - 1, 0));
  buttons(
    $("kinds"),
    KINDS.map((k) => ({
      label: k.label, value: k.key, className: "kind", data: { kind: k.key },
      disabled: attention[k.key].length === 0,
    })),
    kind,
    (value) => selectAttention(value, state.layer, state.head),
  );
  buttons(
    $("layers"),
    layers.map((_, i) => ({ label: String(i), value: i, className: "layer", data: { layer: i } })),
    state.layer,
    (value) => selectAttention(state.kind, value, state.head),
  );
  buttons(
    $("heads"),
    Array.from({ length: heads }, (_, i) => ({
      label: String(i), value: i, className: "head", data: { head: i },
    })),
    state.head,
    (value) => selectAttention(state.kind, state.layer, value),
  );
  drawHeatmap();
}

function color(value) {
  // White (0) to the accent blue (1).
  const v = Math.max(0, Math.min(1, value));
  const r = Math.round(255 - v * (255 - 31));
  const g = Math.round(255 - v * (255 - 95));
  const b = Math.round(255 - v * (255 - 191));
  return `rgb(${r}, ${g}, ${b})`;
}

function drawHeatmap() {
  const table = $("heatmap");
  table.replaceChildren();
  const kind = KINDS.find((k) => k.key === state.kind);
  if (!kind) {
    $("heatmap-caption").textContent = "This model has no attention to show.";
    return;
  }
  const matrix = state.attention[kind.key][state.layer][state.head];
  const rows = state.attention[`${kind.rows}_pieces`];
  const cols = state.attention[`${kind.cols}_pieces`];
  table.dataset.kind = kind.key;
  table.dataset.layer = state.layer;
  table.dataset.head = state.head;
  $("heatmap-caption").textContent =
    `${kind.label}, layer ${state.layer}, head ${state.head}. ` +
    `Rows: the ${kind.rows} pieces (queries); columns: the ${kind.cols} pieces they attend to.`;
  const head = element("thead");
  const top = element("tr");
  top.appendChild(element("th"));
  for (const piece of cols) top.appendChild(element("th", { scope: "col" }, piece));
  head.appendChild(top);
  table.appendChild(head);
  const body = element("tbody");
  matrix.forEach((values, r) => {
    const row = element("tr");
    row.appendChild(element("th", { scope: "row" }, rows[r]));
    values.forEach((value, c) => {
      const cell = element("td", {
        class: "cell",
        "data-row": r,
        "data-col": c,
        "data-value": value,
        title: `${rows[r]} → ${cols[c]}: ${value.toFixed(4)}`,
      });
      cell.style.backgroundColor = color(value);
      row.appendChild(cell);
    });
    body.appendChild(row);
  });
  table.appendChild(body);
}

document.addEventListener("DOMContentLoaded", () => {
  $("query-form").addEventListener("submit", translate);
  loadModels().catch((err) => showError(`Cannot list the models: ${err.message}`));
});
