//! The prober's integration tests, one binary for all of them: checks against real servers on
//! loopback (HTTP, TCP, a real sshd), membership and the sample buffer against the real NATS.

mod address_policy;
mod buffer_throughput;
mod membership;
mod ssh;
mod ssh_commands;
mod support;
mod tcp;
