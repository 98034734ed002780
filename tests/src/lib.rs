//! End-to-end test harness: healthmon started in-process in either deployment mode on port 0 with
//! a fresh database and bus prefix, plus real local HTTP targets whose answers tests switch.

pub mod app;
pub mod browser;
pub mod history;
pub mod prometheus;
pub mod target_server;

pub use app::{Mode, TestApp};
pub use target_server::TargetServer;
// The tests' one way of waiting, shared with the fault suite.
pub use healthmon_testing::wait_until;

/// Instantiates an async test body once per deployment mode: `embedded` and `distributed`.
#[macro_export]
macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Mode::Embedded).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Mode::Distributed).await;
                }
            )*
        }
    };
}
