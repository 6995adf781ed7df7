// A client for the chaos tests to kill with SIGKILL: `node chaos-client.mjs <url> <transport>
// stream|upload [stateful]`. It streams from `Counter` (or uploads to `Upload`) until killed,
// and prints `ready` once the stream is flowing; `stateful` adds `withStatefulReconnect()`.
import { HttpTransportType, HubConnectionBuilder, LogLevel, Subject } from '@microsoft/signalr';

const [url, transport, mode, stateful] = process.argv.slice(2);
const builder = new HubConnectionBuilder()
  .withUrl(url, { transport: HttpTransportType[transport] })
  .configureLogging(LogLevel.None);
if (stateful === 'stateful') builder.withStatefulReconnect();
const connection = builder.build();
await connection.start();

if (mode === 'stream') {
  let announced = false;
  connection.stream('Counter', 1_000_000, 10).subscribe({
    next() {
      if (!announced) {
        announced = true;
        console.log('ready');
      }
    },
    error() {},
    complete() {},
  });
} else {
  const subject = new Subject();
  await connection.send('Upload', subject);
  let item = 0;
  setInterval(() => {
    subject.next(item++);
    if (item === 20) console.log('ready');
  }, 5);
}
// The test kills this process; never outlive it by much if it does not.
setTimeout(() => process.exit(3), 60_000).unref?.();
setInterval(() => {}, 1_000);
