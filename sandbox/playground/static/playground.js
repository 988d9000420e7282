// The playground's page: draws the world the server sends (a long poll on /api/state) and
// sends what the person does to /api/<action>. Every word shown comes from /api/texts.
"use strict";

const S = {
  texts: {}, language: "en", locale: "en", world: null, digest: "", me: null, chat: null,
  topic: "all", replyTo: null, chosen: false,
};

const $ = (id) => document.getElementById(id);

function t(key, values) {
  let text = S.texts[key] || "";
  for (const [name, value] of Object.entries(values || {})) {
    text = text.split("{" + name + "}").join(String(value));
  }
  return text;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value; // only HTML the server escaped
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function act(action, body) {
  try {
    const response = await fetch("/api/" + action, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!answer.ok) toast(answer.error, true);
    return answer;
  } catch (error) {
    toast(t("offline"), true);
    return {ok: false};
  }
}

let toastTimer = null;
function toast(text, error) {
  const box = $("toast");
  box.textContent = text;
  box.className = error ? "error" : "";
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
}

// --- the world ------------------------------------------------------------------------

const me = () => S.world.people.find((p) => p.id === S.me);
const chatById = (id) => S.world.chats.find((c) => c.id === id);
const isCustomer = (person) => person.role === "customer";

function myChats() {
  const person = me();
  const ids = [person.id];
  if (!isCustomer(person)) ids.push(S.world.staff_chat);
  if (S.world.community_chat !== null) ids.push(S.world.community_chat);
  return ids.map(chatById).filter(Boolean);
}

function chatName(chat) {
  if (chat.type === "private") return t("bot_chat", {bot: S.world.bot.name});
  return chat.title;
}

function chatKind(chat) {
  if (chat.type === "private") return "";
  return chat.id === S.world.staff_chat ? t("staff_group") : t("community_group");
}

function roleLabel(person) {
  if (isCustomer(person)) return t("role_customer", {id: person.external_id});
  return t("role_" + person.role);
}

function timeIn(iso, zone, withDay) {
  if (!iso) return "";
  const options = {hour: "2-digit", minute: "2-digit", timeZone: zone};
  if (withDay) Object.assign(options, {weekday: "short", day: "numeric", month: "short"});
  try {
    return new Intl.DateTimeFormat(S.locale, options).format(new Date(iso));
  } catch (error) {
    return iso;
  }
}

// --- drawing --------------------------------------------------------------------------

function render() {
  if (!S.world) return;
  if (S.me === null || !me()) S.me = S.world.people[0].id;
  drawWho();
  drawClock();
  const chats = myChats();
  if (!chats.some((c) => c.id === S.chat)) { S.chat = chats[0].id; S.topic = "all"; }
  drawChatList(chats);
  drawChat(chatById(S.chat));
  drawShop();
}

function drawWho() {
  const select = $("who");
  const people = S.world.people;
  const signature = people.map((p) => p.id).join(",");
  if (select.dataset.signature !== signature) {
    select.replaceChildren();
    for (const [label, group] of [[t("customers"), people.filter(isCustomer)],
                                  [t("staff"), people.filter((p) => !isCustomer(p))]]) {
      const optgroup = el("optgroup", {label});
      for (const p of group) {
        optgroup.append(el("option", {value: p.id}, p.name + " — " + roleLabel(p)));
      }
      select.append(optgroup);
    }
    select.dataset.signature = signature;
  }
  select.value = String(S.me);
}

function drawClock() {
  const clock = S.world.clock;
  $("clock-now").textContent = timeIn(clock.now, clock.timezone, true) + " " + clock.timezone;
  $("clock-kind").textContent = clock.simulated ? t("clock_simulated") : t("clock_real");
  const person = me();
  $("clock-local").textContent = person.timezone === clock.timezone ? "" :
    t("local_time", {name: person.first_name, time: timeIn(clock.now, person.timezone, false)});
  $("plus-hour").hidden = $("plus-day").hidden = !clock.simulated;
}

function lastLine(chat) {
  const shown = chat.messages.filter((m) => !m.service);
  if (!shown.length) return "";
  const div = document.createElement("div");
  div.innerHTML = shown[shown.length - 1].html || "";
  return div.textContent.slice(0, 60);
}

function drawChatList(chats) {
  const nav = $("chat-list");
  nav.replaceChildren(...chats.map((chat) => el("button", {
    type: "button", class: "chat-item" + (chat.id === S.chat ? " active" : ""),
    "data-chat": chat.id,
    onclick: () => { S.chat = chat.id; S.topic = "all"; S.replyTo = null; render(); },
  }, el("span", {class: "kind"}, chatKind(chat)), el("span", {class: "name"}, chatName(chat)),
     el("span", {class: "last"}, lastLine(chat)))));
}

function member(chat) {
  return chat.type === "private" || chat.members.includes(S.me);
}

function drawChat(chat) {
  $("chat-title").textContent = chatName(chat);
  const person = me();
  const actions = $("chat-actions");
  actions.replaceChildren();
  if (chat.id === S.world.community_chat && member(chat)) {
    actions.append(el("button", {type: "button", onclick: () =>
      act("leave", {as: S.me, chat: chat.id})}, t("leave")));
  }
  drawTopics(chat);
  const banner = $("banner");
  banner.replaceChildren();
  if (chat.type === "private" && person.has_link && !person.link_opened) {
    banner.append(t("personal_link"),
      el("code", {}, "t.me/" + S.world.bot.username + "?start=…"),
      el("button", {type: "button", id: "open-link",
                    onclick: () => act("link", {as: S.me})}, t("open_link")));
  } else if (!member(chat)) {
    banner.append(el("div", {}, t("not_member")),
      el("button", {type: "button", id: "join",
                    onclick: () => act("join", {as: S.me, chat: chat.id})}, t("join")));
  }
  drawMessages(chat);
  const topic = chat.forum && typeof S.topic === "number" &&
    chat.topics.find((x) => x.id === S.topic);
  // As in Telegram, nobody but the bot writes in a closed topic.
  const canWrite = member(chat) && !(topic && topic.closed);
  $("text").disabled = $("send").disabled = !canWrite;
  const reply = S.replyTo && chat.messages.find((m) => m.id === S.replyTo);
  $("replying").hidden = !reply;
  $("replying-text").textContent = reply ? t("replying_to", {text: plain(reply)}) : "";
  $("text").placeholder = !topic ? t("write") :
    t("in_topic", {name: topic.name + (topic.closed ? " · " + t("topic_closed") : "")});
}

function plain(message) {
  const div = document.createElement("div");
  div.innerHTML = message.html || "";
  return div.textContent.slice(0, 80);
}

function drawTopics(chat) {
  const bar = $("topics");
  bar.replaceChildren();
  if (!chat.forum) return;
  const choices = [["all", t("all_topics")], [null, t("general_topic")],
    ...chat.topics.map((x) => [x.id, x.name + (x.closed ? " · " + t("topic_closed") : "")])];
  for (const [id, name] of choices) {
    bar.append(el("button", {
      type: "button", class: id === S.topic ? "active" : "", "data-topic": String(id),
      onclick: () => { S.topic = id; S.replyTo = null; render(); },
    }, name));
  }
}

function inTopic(chat, message) {
  if (!chat.forum || S.topic === "all") return true;
  return (message.thread === undefined ? null : message.thread) === S.topic;
}

function drawMessages(chat) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const topics = Object.fromEntries(chat.topics.map((x) => [x.id, x.name]));
  const person = me();
  const items = [];
  let day = null;
  for (const m of chat.messages.filter((x) => inTopic(chat, x))) {
    // A line with the date where a new day begins, as messengers draw it.
    const today = dayOf(m.at, person.timezone);
    if (today && today !== day) items.push(el("li", {class: "day"}, today));
    day = today || day;
    items.push(drawMessage(chat, m, topics));
  }
  if (!items.length) items.push(el("li", {class: "empty"}, t("no_messages")));
  list.replaceChildren(...items);
  if (atBottom || list.dataset.chat !== String(chat.id) + "/" + S.topic) {
    list.scrollTop = list.scrollHeight;
  }
  list.dataset.chat = String(chat.id) + "/" + S.topic;
}

function dayOf(iso, zone) {
  if (!iso) return null;
  try {
    return new Intl.DateTimeFormat(S.locale, {
      weekday: "long", day: "numeric", month: "long", timeZone: zone,
    }).format(new Date(iso));
  } catch (error) {
    return null;
  }
}

function drawMessage(chat, m, topics) {
  const person = me();
  if (m.service !== undefined) return el("li", {class: "service"}, m.service);
  const mine = !m.from_bot && m.sender === S.me;
  const bubble = el("div", {class: "bubble"});
  if (chat.type !== "private" && !mine) {
    bubble.append(el("span", {class: "who"}, m.from_bot ? S.world.bot.name : m.sender_name));
  }
  if (m.reply_to) bubble.append(el("span", {class: "quote"}, m.reply_to.text));
  if (chat.forum && S.topic === "all" && m.thread !== null && topics[m.thread]) {
    bubble.append(el("span", {class: "topic-tag"}, "# " + topics[m.thread]));
  }
  bubble.append(el("span", {class: "text", html: m.html}));
  const meta = [timeIn(m.at, person.timezone, false)];
  if (m.edited) meta.unshift(t("edited"));
  if (m.pinned) meta.unshift("📌 " + t("pinned"));
  const foot = el("span", {class: "meta"}, meta.join(" · "));
  const closed = chat.topics.some((x) => x.id === m.thread && x.closed);
  if (chat.type !== "private" && member(chat) && !closed) {
    foot.prepend(el("button", {type: "button", class: "reply-link", onclick: () => {
      S.replyTo = m.id; render(); $("text").focus();
    }}, "↩ " + t("reply")));
  }
  bubble.append(foot);
  const item = el("li", {class: "msg" + (mine ? " mine" : ""), "data-message": m.id}, bubble);
  if (m.buttons && m.buttons.length) item.append(keyboard(chat, m));
  return item;
}

function keyboard(chat, message) {
  const box = el("div", {class: "keyboard"});
  for (const row of message.buttons) {
    box.append(el("div", {class: "krow"}, ...row.map((b) => el("button", {
      type: "button", onclick: () => pressed(chat, message, b),
    }, b.text))));
  }
  return box;
}

async function pressed(chat, message, button) {
  if (button.data !== undefined) {
    const answer = await act("press", {as: S.me, chat: chat.id, message: message.id,
                                       data: button.data});
    if (answer.ok && answer.toast) toast(t("toast", {text: answer.toast}));
    return;
  }
  // A link to the bot opens its private chat with /start and the link's payload, as
  // Telegram does; any other link is only named (the playground reaches nothing outside).
  const match = /^https:\/\/t\.me\/([A-Za-z0-9_]+)(?:\?start=([A-Za-z0-9_-]+))?$/.exec(button.url);
  if (match && match[1] === S.world.bot.username) {
    S.chat = S.me; S.topic = "all";
    if (match[2]) await act("send", {as: S.me, chat: S.me, text: "/start " + match[2]});
    render();
    return;
  }
  toast(t("link_opens", {url: button.url}));
}

// --- the shop ---------------------------------------------------------------------------

function drawShop() {
  const customers = S.world.people.filter(isCustomer);
  const select = $("event-customer");
  const signature = customers.map((p) => p.external_id).join(",");
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...customers.map((p) =>
      el("option", {value: p.external_id}, p.name + " (" + p.external_id + ")")));
    select.dataset.signature = signature;
  }
}

async function loadShop() {
  const types = await (await fetch("/api/event-types")).json();
  $("event-type").replaceChildren(...types.map((x) => el("option", {value: x}, x)));
  await loadCampaigns();
}

async function loadCampaigns() {
  const rows = await (await fetch("/api/campaigns")).json();
  const select = $("campaign");
  const chosen = select.value;
  select.replaceChildren(...rows.map((c) => el("option", {value: c.id}, c.summary)));
  if (chosen) select.value = chosen;
  $("preview").disabled = !rows.length;
  if (!rows.length) $("previews").replaceChildren(el("p", {class: "note"}, t("no_campaigns")));
}

async function report() {
  const answer = await act("event", {customer: $("event-customer").value,
                                     type: $("event-type").value});
  if (answer.ok) $("report-result").textContent = t("reported", {count: answer.scheduled});
}

async function preview() {
  await loadCampaigns();
  const id = Number($("campaign").value);
  if (!id) return;
  const answer = await act("preview", {campaign: id});
  if (!answer.ok) return;
  $("previews").replaceChildren(...answer.previews.map((p) => el("div", {class: "preview"},
    el("div", {class: "name"}, p.name), el("div", {class: "note"}, p.variant),
    el("div", {class: "bubble", html: (p.photo ? t("photo") + "<br>" : "") + p.html}),
    el("div", {class: "keyboard"}, ...p.buttons.map((row) => el("div", {class: "krow"},
      ...row.map((b) => el("button", {type: "button", title: b.url || ""}, b.text))))),
    p.problem ? el("div", {class: "problem"}, t("would_not_get", {reason: p.problem})) : null)));
}

// --- wiring -----------------------------------------------------------------------------

async function send(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  const chat = chatById(S.chat);
  const body = {as: S.me, chat: chat.id, text};
  if (S.replyTo) body.reply_to = S.replyTo;
  else if (chat.forum && typeof S.topic === "number") body.topic = S.topic;
  const answer = await act("send", body);
  if (answer.ok) { $("text").value = ""; S.replyTo = null; render(); }
}

function label() {
  document.title = t("title");
  document.documentElement.lang = S.locale;
  for (const [id, key] of [["title", "title"], ["you-are", "you_are"], ["plus-hour", "plus_hour"],
    ["plus-day", "plus_day"], ["send", "send"], ["reply-cancel", "cancel"],
    ["shop-title", "shop"], ["event-title", "report_event"], ["event-for", "event_for"],
    ["report", "report"], ["preview-title", "campaign_preview"], ["preview", "preview"]]) {
    $(id).textContent = t(key);
  }
  $("chat-list").setAttribute("aria-label", t("chats"));
}

async function poll() {
  for (;;) {
    try {
      const response = await fetch("/api/state?seen=" + encodeURIComponent(S.digest));
      if (response.status === 200) {
        const answer = await response.json();
        S.digest = answer.digest;
        S.world = answer.world;
        render();
      } else if (response.status !== 204) {
        throw new Error(String(response.status));
      }
    } catch (error) {
      toast(t("offline"), true);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

async function start() {
  const texts = await (await fetch("/api/texts")).json();
  S.language = texts.language;
  S.locale = texts.language.replace("_", "-"); // zh_Hans → zh-Hans, as Intl writes it
  S.texts = texts;
  label();
  $("who").addEventListener("change", (e) => {
    S.me = Number(e.target.value); S.replyTo = null; S.topic = "all"; render();
  });
  for (const id of ["plus-hour", "plus-day"]) {
    $(id).addEventListener("click", (e) =>
      act("clock", {hours: Number(e.currentTarget.dataset.hours)}));
  }
  $("composer").addEventListener("submit", send);
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("reply-cancel").addEventListener("click", () => { S.replyTo = null; render(); });
  $("report").addEventListener("click", report);
  $("preview").addEventListener("click", preview);
  await loadShop();
  poll();
}

start();
