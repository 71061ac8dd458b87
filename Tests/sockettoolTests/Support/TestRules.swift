// TestRules.swift -- how a test in this suite waits, picks ports, drops privilege and skips; read it before
// writing one. The suite runs three times (poll, epoll, AddressSanitizer), in parallel, on two cores that
// other engineers' builds share, as root in CI: a test must hold on such a machine and still fail when the
// behaviour breaks.
//
// Waiting
// - Wait for the signal itself: a child's line (`ChildProcess.waitForLine`), its exit (`waitForExit`), a
//   socket's bytes, FIN or RST (`LoopbackClient.readSome`, `readToEnd`), the kernel's queues as `ss` shows
//   them (`ResilienceSockets.acceptQueue`, `serverSide`). Every wait is bounded.
// - `eventually { ... }` (Waiting.swift) polls a condition until `TestDeadline.generous`: only where no
//   signal exists (a descriptor count in /proc, a line of stderr, a socket state in ss). Never a sleep.
// - "Did not happen" needs a reason to be sure, not a short window: prove the thing waits where it should
//   (a client in the accept queue, bytes left in a Recv-Q), then let it go and see it happen.
// - A TIME_WAIT is the kernel's to keep or drop (a full table, its 60 s): look for one through a
//   `TimeWaitWatch` (TimeWaitWatch.swift), which records a miss the kernel explains as a known issue.
// - A socket table is shared with every other test: find your socket by both its addresses, never by one
//   port (`--port` matches either end, and another test's socket can have the same number). A reader of
//   /proc/net/tcp (netstat) can list a socket twice while the table changes; DocSession calls that, and
//   nothing more, a known issue.
//
// Assert behaviour, never speed
// - A deadline is generous and says "this never happened", never "this was fast": answered, in order,
//   closed with a FIN, exit 0. Throughput, latency and start-up time belong in `make bench` (Tests/Bench/).
// - A lower bound is behaviour ("not closed before --request-timeout"); an upper bound on a duration is
//   only there to tell one deadline from another, with room to spare (`TestDeadline.generous`).
// - CPU ticks over a measuring window (`measuringWindow`) show a spin, which is behaviour: a busy machine
//   lowers them, it never raises them.
//
// Ports (Ports.swift): never a fixed number
// - A server under test listens on port 0 and prints the port it got (`listeningPort()`).
// - `ClosedPort`: a refused connection. Bound and never listening, held for the test's lifetime, so the
//   port stays closed: no other test can listen there in the meantime.
// - `HeldPort`: a known port a test starts servers on, one after another (a restart on the same port);
//   nothing else can take the number in between.
// - `PrivilegedPort` with `ChildProcess(unprivileged:)`: EACCES (exit 77), whoever runs the suite.
//
// Privilege (UnprivilegedChild.swift)
// - CI runs as root. `ChildProcess(unprivileged:)` runs a child as nobody (setpriv --reuid=nobody
//   --regid=nogroup --clear-groups) where a test needs what an ordinary user sees.
//
// Tools and skipping
// - The real peers (nc, ncat, socat, ss, python3, ...) are installed by `.ci/run`. A test whose tool is
//   missing is skipped with `.enabled(if: ..., "why")`; it never returns early or passes quietly.
//
// Independent sources
// - Check sockettool against what it did not write: `AppWire` (requests by hand, replies decoded with
//   Foundation), the Python peer (Tests/Interop/guide_peer.py), `serve app` as the server for a client
//   test, the README and docs read from the files, the kernel's own tables (/proc, ss).
//
// Backends
// - `make test` runs the suite once per backend and sets SOCKETTOOL_BACKEND for each pass (poll, epoll);
//   the servers a test starts inherit it. `BackendTests` checks that they run the backend the pass set.
//   An in-process test that needs a loop on each backend takes `SelectorKind.allCases` as arguments.
