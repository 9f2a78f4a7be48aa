//! Merging one ref into a branch: [`Catalog::plan_merge`] decides (up to date, fast-forward or
//! three-way), [`Catalog::fast_forward`] and [`Catalog::commit_merge`] carry the plan out.

use crate::*;

impl Catalog {
    /// Works out what merging `source` (any ref) into branch `target` needs.
    pub async fn plan_merge(&self, source: &str, target: &str) -> Result<MergePlan> {
        let src = self.resolve(source).await?.commit;
        let head = self.branch_head(target).await?;
        let base = self.merge_base(&src, &head).await?;
        if base.as_ref() == Some(&src) {
            return Ok(MergePlan::UpToDate { head });
        }
        if base.as_ref() == Some(&head) {
            return Ok(MergePlan::FastForward {
                from: head,
                to: src,
            });
        }
        let base = base.ok_or_else(|| Error::Corrupt("the two refs share no history".into()))?;
        let ours: HashMap<TableKey, DiffEntry> = self
            .diff(&base, &head)
            .await?
            .into_iter()
            .map(|d| (d.key.clone(), d))
            .collect();
        let mut clean = Vec::new();
        let mut both_changed = Vec::new();
        for theirs in self.diff(&base, &src).await? {
            match ours.get(&theirs.key) {
                None => clean.push(match theirs.to {
                    Some(state) => Operation::Put {
                        key: theirs.key,
                        state,
                    },
                    None => Operation::Delete { key: theirs.key },
                }),
                Some(mine) if mine.to == theirs.to => {}
                Some(mine) => both_changed.push(BothChanged {
                    key: theirs.key,
                    base: theirs.from,
                    source: theirs.to,
                    target: mine.to.clone(),
                }),
            }
        }
        Ok(MergePlan::ThreeWay(ThreeWay {
            source_ref: source.to_string(),
            target: target.to_string(),
            base,
            source: src,
            target_head: head,
            clean,
            both_changed,
        }))
    }

    /// Moves `target` forward to `to` if it is still at `from`.
    pub async fn fast_forward(&self, target: &str, from: &CommitId, to: &CommitId) -> Result<bool> {
        self.store.move_ref(target, RefKind::Branch, from, to).await
    }

    /// Writes a three-way merge commit with the clean operations plus `resolved` ones (the
    /// caller's decisions for [`ThreeWay::both_changed`]). Returns `None` when the target moved
    /// meanwhile; plan again then.
    pub async fn commit_merge(
        &self,
        plan: &ThreeWay,
        resolved: Vec<Operation>,
        author: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<Option<Commit>> {
        let store = self.store.as_ref();
        let parent = self.get_commit(&plan.target_head).await?;
        let source = self.get_commit(&plan.source).await?;
        let mut operations = plan.clean.clone();
        operations.extend(resolved);
        let (tree, nodes) = self.nodes.apply(store, &parent.tree, &operations).await?;
        let mut commit = Commit {
            id: CommitId::from_hex(""),
            parents: vec![plan.target_head.clone(), plan.source.clone()],
            generation: parent.generation.max(source.generation) + 1,
            tree,
            author: author.to_string(),
            message: format!("merge {} into {}", plan.source_ref, plan.target),
            time_ms: now_ms(),
            properties: properties.clone(),
            operations,
        };
        commit.id = commit_id(&commit);
        if store
            .commit(&nodes, &commit, &plan.target, &plan.target_head)
            .await?
        {
            Ok(Some(commit))
        } else {
            Ok(None)
        }
    }
}
