//! Sending one notification to one notifier's receiver, by kind.
