import Testing

/// Tests that run the built `greeter` and `micro` executables as real processes (and services in
/// this process over real sockets). They run one at a time: several start processes and one puts
/// a service under load, which would skew the others on a small machine.
///
/// Each test has its own temporary `MICRO_HOME`, records every process it starts and kills only
/// those (in a `defer`), and bounds every wait.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct IntegrationTests {}
