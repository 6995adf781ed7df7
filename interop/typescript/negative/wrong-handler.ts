// Receivers with the wrong handler signatures: a parameter of the wrong type, a client result
// of the wrong type, and a handler for a method the client trait does not have.
import { HubConnectionBuilder } from "@microsoft/signalr";
import { registerTestClient } from "../../../examples/typescript/TestHub";
import { registerStreamingClient } from "../../../examples/typescript/StreamingHub";

const connection = new HubConnectionBuilder().withUrl("http://127.0.0.1:5000/hubs/test").build();
registerTestClient(connection, {
  // expect error TS2322: Type '(message: number) => void' is not assignable to type '(message: string) => void | Promise<void>'.
  received(message: number): void {
    void message;
  },
});
registerStreamingClient(connection, {
  // expect error TS2322: Type '(question: string) => string' is not assignable to type '(question: string) => boolean | Promise<boolean>'.
  confirm: (question: string) => `${question} yes`,
});
registerTestClient(connection, {
  received(): void {},
  // expect error TS2561: Object literal may only specify known properties, but 'receive' does not exist in type 'TestClient'. Did you mean to write 'received'?
  receive(message: string): void {
    void message;
  },
});
