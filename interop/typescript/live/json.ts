// The generated JSON-form modules against live servers over the JSON hub protocol.
import { JsonHubProtocol } from "@microsoft/signalr";
import { createTestHub, registerTestClient } from "../../../examples/typescript/TestHub";
import type { Binary, Timestamp } from "../../../examples/typescript/TestHub";
import { createStreamingHub, registerStreamingClient } from "../../../examples/typescript/StreamingHub";
import { connect, exercise, expectEqual } from "./common";
import type { Urls } from "./common";

export async function run(urls: Urls): Promise<string[]> {
  const modules = { createTestHub, registerTestClient, createStreamingHub, registerStreamingClient };
  const checked = await exercise(modules, urls, new JsonHubProtocol());

  // The protocol's own forms: timestamps are ISO-8601 strings, binary is a base64 string.
  const connection = await connect(urls.test, new JsonHubProtocol());
  try {
    const hub = createTestHub(connection);
    const at: Timestamp = "2023-11-14T22:13:20.123Z";
    expectEqual("echoDate", await hub.echoDate(at), at);
    expectEqual("dateToMillis", await hub.dateToMillis(at), 1700000000123);
    const made: Timestamp = await hub.millisToDate(1700000000123);
    expectEqual("millisToDate", made, at);
    const bytes: Binary = "AAH/"; // 0, 1, 255
    expectEqual("echoBytes", await hub.echoBytes(bytes), bytes);
    expectEqual("byteSum", await hub.byteSum(bytes), 256);
    checked.push("timestamps and binary as JSON delivers them");
  } finally {
    await connection.stop();
  }
  return checked;
}
