//! Sits between the plan and the scheduler and lets through only the targets this prober owns,
//! re-planning whenever the members change. It keeps every target, owned or not, so a hand-over
//! needs no re-read of the plan.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use healthmon_domain::Target;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::membership::{Members, owner};
use crate::plan::PlanChange;

/// The full plan and the part of it this member owns.
pub struct OwnedPlan {
    me: String,
    members: Members,
    targets: HashMap<Uuid, Arc<Target>>,
    owned: HashSet<Uuid>,
}

impl OwnedPlan {
    pub fn new(me: impl Into<String>, members: Members) -> Self {
        Self { me: me.into(), members, targets: HashMap::new(), owned: HashSet::new() }
    }

    fn owns(&self, target_id: Uuid) -> bool {
        owner(target_id, &self.members) == Some(self.me.as_str())
    }

    /// What the scheduler must do about one change of the full plan.
    pub fn apply(&mut self, change: PlanChange) -> Option<PlanChange> {
        match change {
            PlanChange::Upsert(target) => {
                let id = target.id;
                self.targets.insert(id, target.clone());
                if self.owns(id) {
                    self.owned.insert(id);
                    Some(PlanChange::Upsert(target))
                } else {
                    self.owned.remove(&id).then_some(PlanChange::Remove(id))
                }
            }
            PlanChange::Remove(id) => {
                self.targets.remove(&id);
                self.owned.remove(&id).then_some(PlanChange::Remove(id))
            }
        }
    }

    /// What the scheduler must do now that the members are `members`: take up the targets gained
    /// and drop the ones lost.
    pub fn replan(&mut self, members: Members) -> Vec<PlanChange> {
        self.members = members;
        let mut changes = Vec::new();
        for (id, target) in &self.targets {
            let owns = owner(*id, &self.members) == Some(self.me.as_str());
            if owns && self.owned.insert(*id) {
                changes.push(PlanChange::Upsert(target.clone()));
            } else if !owns && self.owned.remove(id) {
                changes.push(PlanChange::Remove(*id));
            }
        }
        changes
    }

    pub fn owned(&self) -> usize {
        self.owned.len()
    }
}

/// Forwards the owned part of `plan` to `owned` until shutdown or until either side closes.
pub async fn filter(
    mut plan: mpsc::Receiver<PlanChange>,
    mut members: watch::Receiver<Members>,
    me: String,
    owned: mpsc::Sender<PlanChange>,
    shutdown: CancellationToken,
) {
    let mut book = OwnedPlan::new(me, members.borrow_and_update().clone());
    // A membership that has ended keeps its last view; only the plan moves on then.
    let mut membership_open = true;
    loop {
        let changes = tokio::select! {
            _ = shutdown.cancelled() => return,
            change = plan.recv() => match change {
                Some(change) => book.apply(change).into_iter().collect(),
                None => return,
            },
            changed = members.changed(), if membership_open => match changed {
                Ok(()) => {
                    let current = members.borrow_and_update().clone();
                    let changes = book.replan(current.clone());
                    tracing::info!(members = current.len(), owned = book.owned(), "re-planned after a membership change");
                    changes
                }
                Err(_) => {
                    membership_open = false;
                    Vec::new()
                }
            },
        };
        for change in changes {
            if owned.send(change).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Utc;
    use healthmon_domain::target::parse_spec;

    use super::*;

    fn members(names: &[&str]) -> Members {
        Arc::new(names.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>())
    }

    fn targets(count: u128) -> Vec<Arc<Target>> {
        let spec = parse_spec(&serde_json::json!({"name": "t", "kind": "tcp", "host": "localhost", "port": 1}))
            .expect("a valid spec");
        (0..count)
            .map(|n| {
                let mut target = Target::create(spec.clone(), Utc::now());
                target.id = Uuid::from_u128(n + 1);
                Arc::new(target)
            })
            .collect()
    }

    /// Every target is owned by exactly one of the books, whatever they saw in between.
    fn assert_partitioned(books: &[&OwnedPlan], total: usize) {
        let owned: usize = books.iter().map(|book| book.owned()).sum();
        assert_eq!(owned, total);
        let mut all = HashSet::new();
        for book in books {
            for id in &book.owned {
                assert!(all.insert(*id), "{id} owned twice");
            }
        }
    }

    #[test]
    fn members_split_the_plan_and_take_over_a_leaver_s_targets() {
        let three = members(&["a", "b", "c"]);
        let mut books: Vec<OwnedPlan> = ["a", "b", "c"].iter().map(|me| OwnedPlan::new(*me, three.clone())).collect();
        for target in targets(300) {
            for book in &mut books {
                book.apply(PlanChange::Upsert(target.clone()));
            }
        }
        assert_partitioned(&books.iter().collect::<Vec<_>>(), 300);
        let b_owned = books[1].owned();

        let two = members(&["a", "c"]);
        let gained: usize = [0, 2]
            .iter()
            .map(|&i| {
                let changes = books[i].replan(two.clone());
                assert!(changes.iter().all(|change| matches!(change, PlanChange::Upsert(_))), "nothing is lost");
                changes.len()
            })
            .sum();
        assert_eq!(gained, b_owned);
        assert_partitioned(&[&books[0], &books[2]], 300);
    }

    #[test]
    fn removing_or_losing_a_target_forwards_a_remove_only_when_it_was_owned() {
        let mut book = OwnedPlan::new("a", members(&["a"]));
        let target = targets(1).remove(0);
        assert!(matches!(book.apply(PlanChange::Upsert(target.clone())), Some(PlanChange::Upsert(_))));
        let changes = book.replan(members(&[]));
        assert!(matches!(changes.as_slice(), [PlanChange::Remove(id)] if *id == target.id));
        assert!(book.apply(PlanChange::Remove(target.id)).is_none(), "no longer owned, nothing to remove");
        assert!(book.replan(members(&["a"])).is_empty(), "a removed target stays gone");
    }
}
