// The chat demo's page: the typed module generated from the Rust hub
// (examples/typescript/ChatHub.ts) over the official client, bundled into /chat.js by
// build.mjs. A misspelled hub method or a handler of the wrong shape is a tsc error there.
import {
  HubConnectionBuilder,
  HubConnectionState,
  type HubConnection,
  type IRetryPolicy,
} from "@microsoft/signalr";
import {
  createChatHub,
  registerChatClient,
  type ChatClient,
  type ChatMessage,
  type ChatUser,
} from "../typescript/ChatHub";
import { createSecureChatHub, registerSecureChatClient, type SecureChatHub } from "../typescript/SecureChatHub";

function $<T extends HTMLElement = HTMLInputElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

// ---- what the page shows ----

const messages = $<HTMLUListElement>("messages");

/** Appends a line to the log: plain text, or built by `fill`. */
function show(kind: string, text: string | ((li: HTMLLIElement) => void), time?: Date): void {
  const li = document.createElement("li");
  li.className = kind;
  if (typeof text === "string") li.textContent = text;
  else text(li);
  if (time) li.dataset.time = time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  messages.appendChild(li);
  messages.scrollTop = messages.scrollHeight;
}

/** Shows an error: a refusal of the hub (its HubException text) or of the page itself. */
function showError(error: unknown): void {
  show("error", `error: ${messageOf(error)}`);
}

/** What the client's errors say, without the client's prefix for hub errors. */
function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^An unexpected error occurred invoking '\w+' on the server\. HubException: /, "");
}

type State = "connecting" | "connected" | "reconnecting" | "error";

function setStatus(state: State, text: string): void {
  const status = $<HTMLParagraphElement>("status");
  status.className = state;
  status.textContent = text;
}

// ---- the chat hub ----

/** This tab's name: kept for reloads of the tab, a guest name at first. */
let myName = sessionStorage.getItem("chat-name") ?? `guest-${Math.floor(1000 + Math.random() * 9000)}`;
$("name").value = myName;

/** The hub's URL for `name`: the hub reads the name of a new connection from its query.
 * Absolute, as the client takes a changed URL unresolved. */
const hubUrl = (name: string) => new URL(`/hubs/chat?name=${encodeURIComponent(name)}`, location.href).href;

/** Reconnects for ever: at once, then after 1, 2, 4 and at most 10 s, and says so. */
const retryForever: IRetryPolicy = {
  nextRetryDelayInMilliseconds({ previousRetryCount }) {
    const delay = previousRetryCount === 0 ? 0 : Math.min(10_000, 1000 * 2 ** (previousRetryCount - 1));
    setStatus("reconnecting", `connection lost: reconnecting (attempt ${previousRetryCount + 1})…`);
    return delay;
  },
};

const connection: HubConnection = new HubConnectionBuilder()
  .withUrl(hubUrl(myName))
  .withAutomaticReconnect(retryForever)
  .build();
const hub = createChatHub(connection);

/** The groups this tab is in, to rejoin them after a reconnect (a new connection). */
const myGroups = new Set<string>();

const receiver: ChatClient = {
  receiveMessage(message: ChatMessage) {
    const mine = message.user === myName;
    show(
      `message${message.group === null ? "" : " to-group"}${mine ? " mine" : ""}`,
      (li) => {
        if (message.group !== null) {
          const tag = document.createElement("span");
          tag.className = "tag";
          tag.textContent = `#${message.group}`;
          tag.title = `to the group ${message.group} only`;
          li.append(tag, " ");
        }
        const who = document.createElement("b");
        who.textContent = message.user;
        li.append(who, `: ${message.text}`);
      },
      new Date(message.sentAt),
    );
  },
  userConnected(user: ChatUser) {
    if (user.connectionId !== connection.connectionId) show("event", `${user.name} connected`);
  },
  userDisconnected(user: ChatUser) {
    show("event", `${user.name} disconnected`);
  },
  userRenamed({ user, previous }) {
    show("event", `${previous} is now ${user.name}`);
  },
  userJoined({ user, group }) {
    show("event", `${user.name} joined #${group}`);
  },
  userLeft({ user, group }) {
    show("event", `${user.name} left #${group}`);
  },
};
registerChatClient(connection, receiver);

const chatButtons = ["rename", "join", "leave", "send"];
function enableChat(on: boolean): void {
  for (const id of chatButtons) $<HTMLButtonElement>(id).disabled = !on;
}

connection.onreconnecting((error) => {
  enableChat(false);
  // The next connection introduces itself under the current name.
  connection.baseUrl = hubUrl(myName);
  setStatus("reconnecting", `connection lost${error ? ` (${messageOf(error)})` : ""}: reconnecting…`);
  show("event", "connection lost: reconnecting…");
});
connection.onreconnected(async () => {
  // A new connection: the server has forgotten this tab's groups.
  for (const group of myGroups) await hub.joinGroup(group).catch(showError);
  enableChat(true);
  setStatus("connected", `connected as ${myName} (reconnected)`);
  show("event", "reconnected");
});
connection.onclose((error) => {
  enableChat(false);
  setStatus("error", `disconnected${error ? `: ${messageOf(error)}` : ""}; reload the page to connect again`);
});

/** Connects, and keeps trying every 5 s while the server cannot be reached. */
async function start(): Promise<void> {
  setStatus("connecting", "connecting…");
  try {
    await connection.start();
    enableChat(true);
    setStatus("connected", `connected as ${myName}`);
  } catch (error) {
    setStatus("error", `failed to connect: ${messageOf(error)}; retrying in 5 s`);
    setTimeout(start, 5000);
  }
}

/** A user or group name without surrounding spaces, or null after saying it is empty (the
 * hub refuses more, such as names that are too long, and the page shows its refusal). */
function checkedName(what: string, value: string): string | null {
  const name = value.trim();
  if (name === "") {
    showError(`enter a ${what} first`);
    return null;
  }
  return name;
}

$("name-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = checkedName("name", $("name").value);
  if (name === null || name === myName) return;
  try {
    await hub.setName(name);
    myName = name;
    sessionStorage.setItem("chat-name", name);
    setStatus("connected", `connected as ${myName}`);
  } catch (error) {
    showError(error);
  }
});

function renderGroups(): void {
  const list = $<HTMLSpanElement>("group-list");
  list.replaceChildren();
  for (const group of myGroups) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = `#${group}`;
    list.append(tag);
  }
  if (myGroups.size === 0) list.textContent = "none";
  const to = $<HTMLSelectElement>("to");
  const selected = to.value;
  to.replaceChildren(new Option("everyone", ""));
  for (const group of myGroups) to.append(new Option(`#${group}`, group));
  to.value = myGroups.has(selected) ? selected : "";
}

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const group = checkedName("group name", $("group").value);
  if (group === null) return;
  try {
    await hub.joinGroup(group);
    myGroups.add(group);
    renderGroups();
    $<HTMLSelectElement>("to").value = group;
  } catch (error) {
    showError(error);
  }
});

$("leave").addEventListener("click", async () => {
  const group = checkedName("group name", $("group").value);
  if (group === null) return;
  try {
    await hub.leaveGroup(group);
    myGroups.delete(group);
    renderGroups();
  } catch (error) {
    showError(error);
  }
});

$("chat").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value;
  if (text.trim() === "") return;
  const group = $<HTMLSelectElement>("to").value;
  try {
    if (group === "") await hub.sendMessage(text);
    else await hub.sendMessageToGroup(group, text);
    input.value = "";
  } catch (error) {
    showError(error);
  }
});

// ---- tabs ----

for (const [tab, panel] of [["tab-chat", "panel-chat"], ["tab-secure", "panel-secure"]] as const) {
  $(tab).addEventListener("click", () => {
    for (const [otherTab, otherPanel] of [["tab-chat", "panel-chat"], ["tab-secure", "panel-secure"]]) {
      $(otherTab).setAttribute("aria-selected", String(otherTab === tab));
      $(otherPanel).hidden = otherPanel !== panel;
    }
  });
}

// ---- the secure chat: sign in for a bearer token, then connect with accessTokenFactory ----

let secure: { connection: HubConnection; hub: SecureChatHub } | null = null;
function enableSecure(on: boolean): void {
  for (const id of ["send-admin", "send-private"]) $<HTMLButtonElement>(id).disabled = !on;
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const userName = $("login-user").value;
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userName, password: $("login-password").value }),
  });
  const secureStatus = $<HTMLParagraphElement>("secure-status");
  if (!response.ok) {
    await response.text();
    secureStatus.textContent = "sign-in failed: wrong user name or password";
    return;
  }
  const { accessToken } = (await response.json()) as { accessToken: string };
  if (secure) await secure.connection.stop();
  const connection = new HubConnectionBuilder()
    .withUrl("/hubs/secure-chat", { accessTokenFactory: () => accessToken })
    .withAutomaticReconnect()
    .build();
  secure = { connection, hub: createSecureChatHub(connection) };
  registerSecureChatClient(connection, {
    adminMessage: (message) => show("admin", `[admin] ${message}`),
    privateMessage: (sender, message) => show("private", `[private from ${sender}] ${message}`),
  });
  connection.onclose(() => {
    enableSecure(false);
    secureStatus.textContent = "signed out";
  });
  try {
    await connection.start();
    enableSecure(true);
    secureStatus.textContent = `signed in as ${userName}`;
  } catch (error) {
    secureStatus.textContent = `failed to connect: ${messageOf(error)}`;
  }
});

$("admin").addEventListener("submit", (event) => {
  event.preventDefault();
  secure?.hub.sendAdminMessage($("admin-message").value).catch(showError);
  $("admin-message").value = "";
});

$("private").addEventListener("submit", (event) => {
  event.preventDefault();
  secure?.hub.sendPrivateMessage($("private-to").value, $("private-message").value).catch(showError);
  $("private-message").value = "";
});

if (connection.state === HubConnectionState.Disconnected) void start();
