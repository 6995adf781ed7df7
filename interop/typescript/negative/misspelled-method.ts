// A misspelled hub method: no silent "method does not exist" at run time.
import { HubConnectionBuilder } from "@microsoft/signalr";
import { createTestHub } from "../../../examples/typescript/TestHub";

const hub = createTestHub(new HubConnectionBuilder().withUrl("http://127.0.0.1:5000/hubs/test").build());
// expect error TS2551: Property 'sendToAl' does not exist on type 'TestHub'. Did you mean 'sendToAll'?
void hub.sendToAl("hello");
// expect error TS2551: Property 'Echo' does not exist on type 'TestHub'. Did you mean 'echo'?
void hub.Echo("wire names are not members: members are camelCase");
