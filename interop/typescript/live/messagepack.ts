// The generated MessagePack-form modules against live servers over the MessagePack hub
// protocol (@microsoft/signalr-protocol-msgpack).
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { createTestHub, registerTestClient } from "../../../examples/typescript/messagepack/TestHub";
import type { Binary, Timestamp } from "../../../examples/typescript/messagepack/TestHub";
import {
  createStreamingHub,
  registerStreamingClient,
} from "../../../examples/typescript/messagepack/StreamingHub";
import { CheckFailed, connect, exercise, expectEqual } from "./common";
import type { Urls } from "./common";

export async function run(urls: Urls): Promise<string[]> {
  const modules = { createTestHub, registerTestClient, createStreamingHub, registerStreamingClient };
  const checked = await exercise(modules, urls, new MessagePackHubProtocol());

  // The protocol's own forms: timestamps are Dates, binary is a Uint8Array.
  const connection = await connect(urls.test, new MessagePackHubProtocol());
  try {
    const hub = createTestHub(connection);
    const at: Timestamp = new Date(1700000000123);
    const echoed: Timestamp = await hub.echoDate(at);
    if (!(echoed instanceof Date)) throw new CheckFailed(`echoDate: expected a Date, got ${String(echoed)}`);
    expectEqual("echoDate", echoed.getTime(), at.getTime());
    expectEqual("dateToMillis", await hub.dateToMillis(at), 1700000000123);
    expectEqual("millisToDate", (await hub.millisToDate(0)).getTime(), 0);
    const bytes: Binary = Uint8Array.from([0, 1, 255]);
    const back: Binary = await hub.echoBytes(bytes);
    if (!(back instanceof Uint8Array)) throw new CheckFailed(`echoBytes: expected a Uint8Array, got ${String(back)}`);
    expectEqual("echoBytes", Array.from(back), [0, 1, 255]);
    expectEqual("byteSum", await hub.byteSum(bytes), 256);
    checked.push("timestamps and binary as MessagePack delivers them");
  } finally {
    await connection.stop();
  }
  return checked;
}
