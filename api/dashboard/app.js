// The county dashboard: reads the figures API with the user's token; no framework, no build.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "hazardtrack.token";

const RATES = [
  ["rectification_rate", "隐患整改率"],
  ["reporting_rate", "季报率"],
  ["self_reporting_rate", "自主报送率"],
  ["zero_hazard_rate", "零隐患率"],
  ["on_time_rectification_rate", "按期整改率"],
  ["coverage", "检查覆盖率"],
];
const COUNTS = [
  ["hazards_found", "排查隐患"],
  ["overdue_hazards", "逾期未改"],
  ["inspections", "检查家次"],
  ["required_units", "应报单位"],
];
const NAMES = Object.fromEntries([
  ...RATES, ...COUNTS,
  ["rectification_rate_general", "一般隐患整改率"],
  ["rectification_rate_major", "重大隐患整改率"],
  ["on_time_reporting_rate", "季报及时率"],
  ["hazards_closed", "已整改"],
  ["units_inspected", "已检查单位"],
  ["roster_units", "在册单位"],
  ["reports_filed", "已报"],
]);
const PART_NAMES = {
  rectification_rate: ["已整改销号的隐患", "排查出的隐患（不含作废）"],
  reporting_rate: ["已报季报的单位", "应报季报的单位"],
  self_reporting_rate: ["单位自主报送的季报", "已报的季报"],
  zero_hazard_rate: ["申报零隐患的季报", "已报的季报"],
  on_time_rectification_rate: ["按期整改的隐患", "已整改的隐患"],
  coverage: ["已检查的单位", "在册单位"],
};
const TREND = [
  ["rectification_rate", "隐患整改率", "#c62828"],
  ["reporting_rate", "季报率", "#1565c0"],
  ["self_reporting_rate", "自主报送率", "#2e7d32"],
  ["zero_hazard_rate", "零隐患率", "#ef6c00"],
];
const LEVEL = { general: "一般", major: "重大" };
const STATUS = { reported: "待整改", rectifying: "整改中", rectified: "待验收", closed: "已销号", voided: "已作废" };
const KIND = {
  routine: "日常检查", holiday: "节假日检查", campaign: "专项检查", joint: "联合检查",
  spot_check: "抽查", enforcement: "执法检查", re_inspection: "复查",
};

const state = {
  me: null,
  region: null,          // code of the region on screen
  trail: [],             // [{code, name}] from the user's region down to it
  names: {},             // region code -> name
  units: {},             // unit id -> name
  categories: {},        // hazard category code -> label
  members: null,         // the open members list
};

// -- small helpers ------------------------------------------------------------------------

const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A rate as the offices write it: 100%, 96.8%; null (0/0) is a dash. */
function pct(rate) {
  if (!rate || rate.value === null || rate.value === undefined) return "—";
  const shown = (rate.value * 100).toFixed(1);
  return (shown.endsWith(".0") ? shown.slice(0, -2) : shown) + "%";
}

function day(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const local = new Date(d.getTime() + 8 * 3600 * 1000); // Asia/Shanghai
  return local.toISOString().slice(0, 10);
}

function when(iso) {
  if (!iso) return "—";
  const local = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
  return local.toISOString().slice(0, 16).replace("T", " ");
}

function say(message, isError) {
  const el = $("#status");
  el.textContent = message || "";
  el.classList.toggle("error", !!isError);
}

class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
  }
  const response = await fetch(url, {
    headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
  });
  if (response.status === 401) {
    logout();
    throw new ApiError(401, "登录已过期，请重新登录");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.detail || response.statusText);
  return body;
}

// -- periods --------------------------------------------------------------------------------

function quarterOf(date) {
  const local = new Date(date.getTime() + 8 * 3600 * 1000);
  return { year: local.getUTCFullYear(), q: Math.floor(local.getUTCMonth() / 3) + 1 };
}

function shiftQuarter({ year, q }, n) {
  const index = year * 4 + (q - 1) + n;
  return { year: Math.floor(index / 4), q: (index % 4) + 1 };
}

const qkey = ({ year, q }) => `${year}Q${q}`;
const qlabel = ({ year, q }) => `${year}年第${"一二三四"[q - 1]}季度`;

function parseQuarter(key) {
  const m = /^(\d{4})Q([1-4])$/.exec(key);
  return m ? { year: +m[1], q: +m[2] } : null;
}

function quarterBounds(key) {
  const { year, q } = parseQuarter(key);
  const pad = (n) => String(n).padStart(2, "0");
  const first = `${year}-${pad((q - 1) * 3 + 1)}-01T00:00:00+08:00`;
  const next = shiftQuarter({ year, q }, 1);
  const end = `${next.year}-${pad((next.q - 1) * 3 + 1)}-01T00:00:00+08:00`;
  return [first, end];
}

function fillPeriods() {
  const select = $("#period");
  select.replaceChildren();
  const now = quarterOf(new Date());
  for (let i = 0; i < 12; i++) {
    const quarter = shiftQuarter(now, -i);
    select.append(h("option", { value: qkey(quarter), text: qlabel(quarter) }));
  }
  const wanted = new URLSearchParams(location.search).get("period");
  if (wanted && parseQuarter(wanted)) {
    if (![...select.options].some((o) => o.value === wanted)) {
      select.append(h("option", { value: wanted, text: qlabel(parseQuarter(wanted)) }));
    }
    select.value = wanted;
  }
}

// -- login ----------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  $("#login-error").textContent = "";
  const form = new URLSearchParams({ username: $("#username").value, password: $("#password").value });
  const response = await fetch(API + "/auth/token", { method: "POST", body: form });
  if (!response.ok) {
    $("#login-error").textContent = response.status === 429 ? "尝试次数过多，请稍后再试" : "用户名或密码错误";
    return;
  }
  const token = await response.json();
  sessionStorage.setItem(TOKEN_KEY, token.access_token);
  await start();
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  $("#board").hidden = true;
  $("#who").hidden = true;
  $("#login").hidden = false;
}

async function start() {
  try {
    state.me = await api("/users/me");
  } catch (err) {
    logout();
    return;
  }
  if (!["admin", "county", "township", "inspector"].includes(state.me.role)) {
    logout();
    $("#login-error").textContent = "看板仅供县、乡镇工作人员使用";
    return;
  }
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = `${state.me.username}（${roleName(state.me.role)}）`;
  const home = state.me.region_code || new URLSearchParams(location.search).get("region") || "";
  state.trail = [];
  $("#region-code").value = home;
  if (home) await openRegion(home, true);
  else await pickRegion();
}

// A user of no region (an admin) starts from the top of the tree: with one top region that
// region opens, with several the user picks one (the region code field still works too).
async function pickRegion() {
  let roots;
  try {
    roots = (await api("/regions")).items;
  } catch (err) {
    say(err.message, true);
    return;
  }
  if (roots.length === 1) {
    await openRegion(roots[0].code, true);
    return;
  }
  $("#picker-list").replaceChildren(...roots.map((r) => h("li", { "data-region": r.code },
    h("a", { href: "#", class: "region-link", text: `${r.name}（${r.code}）`,
      onclick: (e) => { e.preventDefault(); openRegion(r.code, true); } }))));
  $("#picker").hidden = false;
  $("#board").classList.add("picking");
  say(roots.length ? "请选择要查看的区域" : "尚无区域：请先建立行政区划", !roots.length);
}

function roleName(role) {
  return { admin: "管理员", county: "县级", township: "乡镇", inspector: "检查人员" }[role] || role;
}

// -- the board ------------------------------------------------------------------------------

async function openRegion(code, reset) {
  try {
    const region = await api(`/regions/${code}`);
    state.names[code] = region.name;
    if (reset) state.trail = [];
    const at = state.trail.findIndex((r) => r.code === code);
    if (at >= 0) state.trail = state.trail.slice(0, at + 1);
    else state.trail.push({ code, name: region.name, level: region.level });
    state.region = code;
    $("#region-code").value = code;
    $("#picker").hidden = true;
    $("#board").classList.remove("picking");
    await refresh();
  } catch (err) {
    say(err.status === 404 ? `区域 ${code} 不存在或不在您的权限范围内` : err.message, true);
  }
}

async function refresh() {
  const code = state.region;
  const period = $("#period").value;
  const view = $("#view").value;
  closeMembers();
  say("正在加载 …");
  renderCrumbs();
  $("#summary-link").href = "#";
  const [from, to] = quarterBounds(period);
  const start = qkey(shiftQuarter(parseQuarter(period), -7));
  try {
    await loadUnits(code);
    if (!Object.keys(state.categories).length) {
      const cats = await api("/hazard-categories");
      for (const c of cats.items || cats) state.categories[c.code] = c.label;
    }
    const [figures, breakdown, series, flags, overdue, major] = await Promise.all([
      api("/metrics", { region: code, period, view }),
      api("/metrics/breakdown", { region: code, period, view }),
      api("/metrics/series", { region: code, from: start, to: period, view }),
      api("/metrics/flags", { region: code, period, view }),
      api("/hazards", { region: code, overdue: true, limit: 200 }),
      api("/hazards", { region: code, level: "major", found_from: from, found_to: to, limit: 200 }),
    ]);
    for (const item of breakdown.items) state.names[item.region_code] = item.region_name;
    renderFigures(figures);
    renderBreakdown(breakdown, figures);
    renderTrend(series);
    renderHazards("#overdue", overdue.items, "#overdue-count", true);
    renderHazards("#major", major.items, "#major-count", false);
    renderFlags(flags.items);
    $("#summary-link").href = "#summary";
    say("");
    $("#board").dataset.loaded = `${code}:${period}:${view}`;
  } catch (err) {
    if (err.status === 404 && view === "frozen") say("该季度尚未冻结，请选择“实时”口径", true);
    else say("加载失败：" + err.message, true);
  }
}

async function loadUnits(code) {
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const body = await api("/units", { region: code, limit: 500, cursor });
    for (const unit of body.items) state.units[unit.id] = unit.name;
    cursor = body.next_cursor;
    if (!cursor) break;
  }
}

function renderCrumbs() {
  const nav = $("#crumbs");
  nav.replaceChildren();
  if (!state.me.region_code) {  // back to the top of the tree
    nav.append(h("a", { href: "#", id: "crumb-top", text: "全部区域",
      onclick: (e) => { e.preventDefault(); pickRegion(); } }), " › ");
  }
  state.trail.forEach((r, i) => {
    if (i) nav.append(" › ");
    if (i === state.trail.length - 1) nav.append(h("strong", { text: r.name }));
    else nav.append(h("a", { href: "#", text: r.name, onclick: (e) => { e.preventDefault(); openRegion(r.code); } }));
  });
}

function numLink(regionCode, metric, part, value) {
  return h("a", {
    class: "num", href: "#", "data-region": regionCode, "data-metric": metric, "data-part": part,
    title: "查看记录", text: String(value),
    onclick: (e) => { e.preventDefault(); openMembers(regionCode, metric, part); },
  });
}

function rateCell(regionCode, metric, rate) {
  return h("td", { "data-metric": metric },
    numLink(regionCode, metric, "numerator", rate.numerator), "/",
    numLink(regionCode, metric, "denominator", rate.denominator),
    h("span", { class: "pct", text: pct(rate) }));
}

function countCell(regionCode, metric, count) {
  return h("td", { "data-metric": metric }, numLink(regionCode, metric, "numerator", count.count));
}

function renderFigures(figures) {
  const m = figures.metrics;
  const view = figures.view === "frozen" ? "季度冻结口径" : "实时口径";
  $("#region-title").textContent = `${figures.region_name} · ${qlabel(parseQuarter(figures.period))}`;
  $("#cutoff").textContent = `${view}，数据截至 ${when(figures.cutoff)}；计算于 ${when(figures.computed_at)}`;
  const cards = $("#cards");
  cards.replaceChildren();
  for (const [metric, label] of RATES) {
    const rate = m[metric];
    cards.append(h("div", { class: "figure", "data-metric": metric },
      h("div", { class: "label", text: label }),
      h("div", { class: "value", text: pct(rate) }),
      h("div", { class: "parts" },
        numLink(figures.region_code, metric, "numerator", rate.numerator), " / ",
        numLink(figures.region_code, metric, "denominator", rate.denominator))));
  }
  for (const [metric, label] of COUNTS) {
    const warn = metric === "overdue_hazards" && m[metric].count > 0;
    cards.append(h("div", { class: "figure" + (warn ? " warn" : ""), "data-metric": metric },
      h("div", { class: "label", text: label }),
      h("div", { class: "value" }, numLink(figures.region_code, metric, "numerator", m[metric].count))));
  }
}

function breakdownRow(item, rank, drill) {
  const m = item.metrics;
  const name = drill
    ? h("a", { href: "#", class: "region-link", text: item.region_name,
        onclick: (e) => { e.preventDefault(); openRegion(item.region_code); } })
    : item.region_name;
  return h("tr", { "data-region": item.region_code },
    h("td", { text: rank }),
    h("td", { class: "name" }, name),
    countCell(item.region_code, "hazards_found", m.hazards_found),
    rateCell(item.region_code, "rectification_rate", m.rectification_rate),
    countCell(item.region_code, "overdue_hazards", m.overdue_hazards),
    rateCell(item.region_code, "reporting_rate", m.reporting_rate),
    rateCell(item.region_code, "self_reporting_rate", m.self_reporting_rate),
    rateCell(item.region_code, "zero_hazard_rate", m.zero_hazard_rate),
    rateCell(item.region_code, "coverage", m.coverage));
}

function renderBreakdown(breakdown, figures) {
  const level = (state.trail[state.trail.length - 1] || {}).level || 3;
  $("#breakdown-title").textContent = level >= 4 ? "各村（社区）情况" : level === 3 ? "各乡镇（街道）情况" : "下级区域情况";
  const body = $("#breakdown tbody");
  body.replaceChildren();
  for (const item of breakdown.items) {
    const own = item.region_code === breakdown.region_code;
    body.append(breakdownRow(item, item.rank, !own && level < 5));
  }
  if (!breakdown.items.length) body.append(h("tr", {}, h("td", { colspan: 9, text: "无下级区域" })));
  const foot = $("#breakdown tfoot");
  foot.replaceChildren(breakdownRow({ ...figures, region_name: "合计" }, "", false));
  foot.firstChild.setAttribute("data-total", "");
}

// -- members: the records behind a number ------------------------------------------------

async function openMembers(regionCode, metric, part) {
  state.members = { regionCode, metric, part, cursor: null, rows: 0 };
  const region = state.names[regionCode] || regionCode;
  const parts = PART_NAMES[metric];
  const what = parts ? parts[part === "numerator" ? 0 : 1] : NAMES[metric] || metric;
  $("#members-title").textContent = `${region} · ${NAMES[metric] || metric} · ${part === "numerator" ? "分子" : "分母"}：${what}`;
  $("#members-table thead").replaceChildren();
  $("#members-table tbody").replaceChildren();
  $("#members").hidden = false;
  $("#members-total").textContent = "正在加载 …";
  await moreMembers();
  $("#members").scrollIntoView({ block: "nearest" });
}

async function moreMembers() {
  const s = state.members;
  if (!s) return;
  const body = await api("/metrics/members", {
    region: s.regionCode, period: $("#period").value, view: $("#view").value,
    metric: s.metric, part: s.part, limit: 100, cursor: s.cursor,
  });
  const [headings, row] = MEMBER_COLUMNS[body.kind] || MEMBER_COLUMNS.hazards;
  if (!s.rows) $("#members-table thead").replaceChildren(h("tr", {}, headings.map((t) => h("th", { text: t }))));
  const tbody = $("#members-table tbody");
  for (const item of body.items) {
    s.rows += 1;
    tbody.append(h("tr", {}, h("td", { text: s.rows }), row(item).map((v) => h("td", { class: "wrap", text: v }))));
  }
  s.cursor = body.next_cursor;
  $("#members-total").textContent = `共 ${body.total} 条记录，已显示 ${s.rows} 条`;
  $("#members-total").dataset.total = body.total;
  $("#members-more").hidden = !s.cursor;
}

function closeMembers() {
  state.members = null;
  $("#members").hidden = true;
}

const unitName = (id) => state.units[id] || String(id).slice(0, 8);
const regionName = (code) => state.names[code] || code;
const yes = (v) => (v === null || v === undefined ? "—" : v ? "是" : "否");

const MEMBER_COLUMNS = {
  hazards: [
    ["序号", "单位", "区划", "级别", "状态", "来源", "发现时间", "整改期限", "销号时间"],
    (x) => [unitName(x.unit_id), regionName(x.region_code), LEVEL[x.level] || x.level,
      STATUS[x.status] || x.status, x.source === "inspection" ? "检查发现" : "单位自查",
      when(x.found_at), day(x.deadline), when(x.closed_at)],
  ],
  inspections: [
    ["序号", "单位", "区划", "检查类型", "检查时间"],
    (x) => [unitName(x.unit_id), regionName(x.region_code), KIND[x.kind] || x.kind, when(x.inspected_at)],
  ],
  units: [
    ["序号", "单位", "区划", "需报季报"],
    (x) => [x.name, regionName(x.region_code), yes(x.reporting_required)],
  ],
  unit_quarters: [
    ["序号", "单位", "区划", "季度", "已报", "报送时间", "按时", "自主报送", "零隐患"],
    (x) => [x.name, regionName(x.region_code), x.quarter, yes(!!x.report_id), when(x.first_filed_at),
      yes(x.on_time), yes(x.filed_by_unit), yes(x.zero_hazard)],
  ],
};
MEMBER_COLUMNS.reports = MEMBER_COLUMNS.unit_quarters;

// -- trend chart: inline SVG, no library -------------------------------------------------

function renderTrend(series) {
  const W = 860, H = 260, L = 44, R = 36, T = 16, B = 48;
  const items = series.items;
  const n = items.length;
  const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (1 - v) * (H - T - B);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "各项比率按季度的趋势", id: "trend-svg" });
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e7ec" }));
    chart.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, `${v * 100}%`));
  }
  items.forEach((item, i) => {
    const q = parseQuarter(item.period);
    chart.append(svg("text", { x: x(i), y: H - B + 16, "text-anchor": "middle" }, q ? `${q.year}Q${q.q}` : item.period));
  });
  TREND.forEach(([metric, label, color], k) => {
    // One path; a quarter with no figure (0/0) breaks the line rather than drawing 0%.
    let d = "", pen = "M";
    items.forEach((item, i) => {
      const rate = item.metrics && item.metrics[metric];
      if (!rate || rate.value === null) { pen = "M"; return; }
      d += `${pen}${x(i).toFixed(1)},${y(rate.value).toFixed(1)} `;
      pen = "L";
      const dot = svg("circle", { cx: x(i), cy: y(rate.value), r: 3.5, fill: color, "data-metric": metric, "data-period": item.period });
      dot.append(svg("title", {}, `${item.period} ${label} ${pct(rate)}（${rate.numerator}/${rate.denominator}）`));
      chart.append(dot);
    });
    if (d) chart.append(svg("path", { d: d.trim(), fill: "none", stroke: color, "stroke-width": 2, "data-metric": metric }));
    const lx = L + k * 130;
    chart.append(svg("rect", { x: lx, y: H - 18, width: 12, height: 12, fill: color }));
    chart.append(svg("text", { x: lx + 16, y: H - 8 }, label));
  });
  $("#trend").replaceChildren(chart);
}

// -- hazard lists and flags --------------------------------------------------------------

function renderHazards(sel, items, countSel, overdue) {
  const table = $(sel);
  table.querySelector("thead").replaceChildren(h("tr", {},
    ["单位", "级别", "类别", "隐患描述", "发现日期", "整改期限", "状态"].map((t) => h("th", { text: t }))));
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const x of items) {
    let status = STATUS[x.status] || x.status;
    if (x.supervised) status += "（挂牌督办）";
    if (x.transferred_to) status += `（移送${x.transferred_to}）`;
    body.append(h("tr", { class: overdue ? "overdue-row" : "", "data-id": x.id },
      h("td", { text: unitName(x.unit_id) }), h("td", { text: LEVEL[x.level] || x.level }),
      h("td", { text: state.categories[x.category] || x.category }), h("td", { class: "wrap", text: x.description }),
      h("td", { text: day(x.found_at) }), h("td", { text: day(x.deadline) }), h("td", { text: status })));
  }
  if (!items.length) body.append(h("tr", {}, h("td", { colspan: 7, text: "无" })));
  $(countSel).textContent = items.length;
}

function renderFlags(items) {
  $("#flags thead").replaceChildren(h("tr", {},
    ["单位", "区划", "季度", "检查发现隐患（条）"].map((t) => h("th", { text: t }))));
  const body = $("#flags tbody");
  body.replaceChildren();
  for (const f of items) {
    body.append(h("tr", {}, h("td", { text: f.unit_name }), h("td", { text: regionName(f.region_code) }),
      h("td", { text: f.quarter }), h("td", { text: f.hazards_found })));
  }
  if (!items.length) body.append(h("tr", {}, h("td", { colspan: 4, text: "无" })));
  $("#flags-count").textContent = items.length;
}

// -- the summary document: fetched with the token, saved as a file -------------------------

async function downloadSummary(event) {
  event.preventDefault();
  const url = new URL(API + "/reports/summary", location.origin);
  url.search = new URLSearchParams({ region: state.region, period: $("#period").value, format: "docx" });
  const response = await fetch(url, { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) } });
  if (!response.ok) { say("工作总结生成失败", true); return; }
  const blob = await response.blob();
  const link = h("a", { href: URL.createObjectURL(blob), download: `工作总结-${state.region}-${$("#period").value}.docx` });
  document.body.append(link);
  link.click();
  link.remove();
}

// -- wiring ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  fillPeriods();
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#period").addEventListener("change", refresh);
  $("#view").addEventListener("change", refresh);
  $("#go").addEventListener("click", () => openRegion($("#region-code").value.trim(), true));
  $("#members-close").addEventListener("click", closeMembers);
  $("#members-more").addEventListener("click", moreMembers);
  $("#summary-link").addEventListener("click", downloadSummary);
  if (sessionStorage.getItem(TOKEN_KEY)) start();
});
