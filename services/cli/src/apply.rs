//! `healthmon apply -f FILE`: reads the file and the stored targets, prints the plan, and unless
//! it is a dry run makes the changes, in the plan's order.

use std::path::Path;

use healthmon_wire::TargetView;
use reqwest::Method;

use super::api::Api;
use super::manifest;
use super::plan::{self, Change};

pub async fn run(api: &Api, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let desired = manifest::targets_of(&manifest::read_document(file)?)?;
    let stored = api.all_targets().await?;
    let changes = plan::plan(&desired, &stored)?;
    print!("{}", plan::render(&changes));
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    let mut done = 0;
    for change in &changes {
        let result = match change {
            Change::Create { body, .. } => {
                api.call::<TargetView>(Method::POST, "/api/v1/targets", Some(body)).await.map(drop)
            }
            Change::Update { id, body, .. } => {
                api.call::<TargetView>(Method::PUT, &format!("/api/v1/targets/{id}"), Some(body)).await.map(drop)
            }
            Change::Delete { id, .. } => {
                api.call_without_answer(Method::DELETE, &format!("/api/v1/targets/{id}")).await
            }
            Change::Unchanged { .. } => continue,
        };
        if let Err(error) = result {
            let name = match change {
                Change::Create { name, .. }
                | Change::Update { name, .. }
                | Change::Delete { name, .. }
                | Change::Unchanged { name, .. } => name,
            };
            // Earlier changes stay made: say how far it got, so a re-run's plan makes sense.
            return Err(error.context(format!("applying the change to {name:?} (after {done} changes made)")));
        }
        done += 1;
    }
    println!("applied: {done} changes");
    Ok(())
}
