// Arguments of the wrong type: a number as a string, a DTO without its fields, an upload of
// the wrong item type, a result used as what it is not.
import { HubConnectionBuilder, Subject } from "@microsoft/signalr";
import { createTestHub } from "../../../examples/typescript/TestHub";
import { createStreamingHub } from "../../../examples/typescript/StreamingHub";

const connection = new HubConnectionBuilder().withUrl("http://127.0.0.1:5000/hubs/test").build();
const hub = createTestHub(connection);
const streaming = createStreamingHub(connection);
// expect error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'.
void hub.add(1, "2");
// expect error TS2739: Type '{ name: string; }' is missing the following properties from type 'Item': count, tags
void hub.echoObject({ name: "pen" });
// expect error TS2345: Argument of type 'Subject<number>' is not assignable to parameter of type 'Subject<string>'.
void streaming.uploadStream(new Subject<number>());
// expect error TS2322: Type 'Promise<string>' is not assignable to type 'Promise<number>'.
const length: Promise<number> = hub.echo("text");
void length;
