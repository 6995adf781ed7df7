// What the JSON and the MessagePack programs share: typed calls, a typed receiver, server
// streams, uploads and a client result, through the functions of a generated module. Each
// program passes its own module's functions (examples/typescript or .../messagepack), so both
// modules are checked against this one use.
import { HubConnectionBuilder, LogLevel, Subject } from "@microsoft/signalr";
import type { HubConnection, IHubProtocol, IStreamResult } from "@microsoft/signalr";
import type { Disposable, Order, TestClient, TestHub } from "../../../examples/typescript/TestHub";
import type { StreamingClient, StreamingHub } from "../../../examples/typescript/StreamingHub";

/** The members of TestHub whose types do not depend on the hub protocol. */
export type TestCalls = Pick<
  TestHub,
  "echo" | "add" | "echoOrder" | "getHeader" | "sendToCallerTyped" | "sendToCaller" | "sendSequence" | "boxedCounter"
>;

/** The functions of one generated module pair (TestHub.ts and StreamingHub.ts). */
export interface Modules {
  createTestHub(connection: HubConnection): TestCalls;
  registerTestClient(connection: HubConnection, receiver: TestClient): Disposable;
  createStreamingHub(connection: HubConnection): StreamingHub;
  registerStreamingClient(connection: HubConnection, receiver: StreamingClient): Disposable;
}

/** Where the servers are: the interop example's `/hubs/test` and the streaming example's hub. */
export interface Urls {
  test: string;
  streaming: string;
}

export class CheckFailed extends Error {}

/** Throws unless `actual` and `expected` have the same JSON. */
export function expectEqual(what: string, actual: unknown, expected: unknown): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new CheckFailed(`${what}: expected ${e}, got ${a}`);
}

export async function connect(url: string, protocol: IHubProtocol): Promise<HubConnection> {
  const connection = new HubConnectionBuilder()
    .withUrl(url)
    .withHubProtocol(protocol)
    .configureLogging(LogLevel.Error)
    .build();
  await connection.start();
  return connection;
}

/** The items of a server stream, once it completes. */
export function collect<T>(stream: IStreamResult<T>): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    stream.subscribe({
      next: (item) => items.push(item),
      complete: () => resolve(items),
      error: reject,
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receiver with state: its handlers must run with `this` bound to it. */
class Inbox implements TestClient {
  readonly messages: string[] = [];

  received(message: string): void {
    this.messages.push(message);
  }

  async waitFor(count: number): Promise<string[]> {
    for (let waited = 0; this.messages.length < count; waited += 10) {
      if (waited > 5_000) throw new CheckFailed(`expected ${count} messages, got ${JSON.stringify(this.messages)}`);
      await sleep(10);
    }
    return this.messages;
  }
}

/** Runs every check over `protocol`; returns what was checked. Throws on the first failure. */
export async function exercise(modules: Modules, urls: Urls, protocol: IHubProtocol): Promise<string[]> {
  const checked: string[] = [];
  const test = await connect(urls.test, protocol);
  const streamingConnection = await connect(urls.streaming, protocol);
  try {
    // Typed calls: camelCase members calling the wire names, results typed.
    const hub = modules.createTestHub(test);
    const echoed: string = await hub.echo("hello");
    expectEqual("echo", echoed, "hello");
    const sum: number = await hub.add(2, 3);
    expectEqual("add", sum, 5);
    const order: Order = {
      id: 7,
      customer: { name: "Ada", vip: true },
      lines: [{ sku: "pen", quantity: 2, price: 1.5 }],
      note: null,
    };
    const back = await hub.echoOrder(order);
    expectEqual("echoOrder", back, order);
    expectEqual("a missing header is null", await hub.getHeader("x-not-sent"), null);
    checked.push("typed calls");

    // A typed receiver object, called as its methods; dispose() unregisters it.
    const inbox = new Inbox();
    const registration = modules.registerTestClient(test, inbox);
    await hub.sendToCallerTyped("typed");
    expectEqual("sendSequence", await hub.sendSequence(3, 0), 3);
    expectEqual("received", await inbox.waitFor(4), ["typed", "0", "1", "2"]);
    registration.dispose();
    await hub.sendToCaller("after dispose");
    await hub.echo("a round trip after the send");
    expectEqual("nothing after dispose", inbox.messages.length, 4);
    checked.push("typed receiver");

    // Server streams.
    expectEqual("boxedCounter", await collect(hub.boxedCounter(3)), [0, 1, 2]);
    const streaming = modules.createStreamingHub(streamingConnection);
    const progress = await collect(streaming.streamResults("job", 2));
    expectEqual("streamResults", progress.map((p) => `${p.jobId} ${p.percent}`), ["job 50", "job 100"]);
    checked.push("server streams");

    // Uploads: Subject<T> parameters.
    const items = new Subject<string>();
    const uploaded = streaming.uploadStream(items);
    items.next("a");
    items.next("b");
    items.complete();
    expectEqual("uploadStream", await uploaded, ["a", "b"]);
    const [a, b] = [new Subject<number>(), new Subject<number>()];
    const summed = streaming.sumStreams(a, "sums", b);
    a.next(1);
    a.next(2);
    b.next(10);
    a.complete();
    b.complete();
    expectEqual("sumStreams", await summed, "sums: 3, 10");
    checked.push("uploads");

    // A client result: the receiver's answer (a promise here) is the hub method's result.
    const asked: string[] = [];
    const confirmation = modules.registerStreamingClient(streamingConnection, {
      async confirm(question: string): Promise<boolean> {
        asked.push(question);
        return question.startsWith("Proceed");
      },
    });
    expectEqual("askCaller yes", await streaming.askCaller("Proceed?"), true);
    expectEqual("askCaller no", await streaming.askCaller("Stop?"), false);
    expectEqual("questions", asked, ["Proceed?", "Stop?"]);
    confirmation.dispose();
    checked.push("client result");
  } finally {
    await Promise.allSettled([test.stop(), streamingConnection.stop()]);
  }
  return checked;
}
