//! How a scan spreads its data files over the engine's partitions (one stream per core).
//!
//! Row groups are the unit: each file is cut at its row groups' offsets (Iceberg's
//! `split_offsets`), and the pieces are dealt out to the least-loaded partition in file order,
//! so neighbouring row groups land on different cores. A filter on a sorted column keeps a run
//! of neighbouring row groups; splitting files into contiguous halves (DataFusion's default)
//! would hand that whole run to one core and leave the other idle.
//!
//! The cuts are byte ranges, so they are only ever a matter of balance: a reader scans a row
//! group in the range holding its first page, and the ranges of a file cover it exactly once,
//! whatever the offsets say.

use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::FileGroup;

/// A data file to scan: its path in the object store, size and row-group offsets.
#[derive(Debug, Clone)]
pub(crate) struct ScanFile<'a> {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) offsets: Option<&'a [i64]>,
}

/// One row group's byte range (or a whole file's).
struct Piece {
    file: usize,
    start: u64,
    end: u64,
}

/// `files` spread over at most `target` partitions, balanced by bytes.
pub(crate) fn spread(files: &[ScanFile<'_>], target: usize) -> Vec<FileGroup> {
    let pieces: Vec<Piece> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| pieces_of(i, f))
        .collect();
    let partitions = target.max(1).min(pieces.len().max(1));
    let mut load = vec![0u64; partitions];
    let mut dealt: Vec<Vec<&Piece>> = vec![vec![]; partitions];
    for piece in &pieces {
        let (p, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(_, bytes)| **bytes)
            .expect("at least one partition");
        load[p] += piece.end - piece.start;
        dealt[p].push(piece);
    }
    dealt
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| FileGroup::new(merged(files, d)))
        .collect()
}

/// The row-group pieces of file `i`; the whole file when its offsets are unknown.
fn pieces_of(i: usize, f: &ScanFile<'_>) -> Vec<Piece> {
    let mut cuts: Vec<u64> = f
        .offsets
        .unwrap_or_default()
        .iter()
        .filter_map(|&o| u64::try_from(o).ok())
        .filter(|&o| o > 0 && o < f.size)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // The first row group's range starts at the file's start (its header bytes included).
    if !cuts.is_empty() {
        cuts.remove(0);
    }
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend(cuts);
    bounds.push(f.size);
    bounds
        .windows(2)
        .map(|w| Piece {
            file: i,
            start: w[0],
            end: w[1],
        })
        .collect()
}

/// A partition's pieces as files to open, neighbouring pieces of one file joined.
fn merged(files: &[ScanFile<'_>], pieces: Vec<&Piece>) -> Vec<PartitionedFile> {
    let mut out: Vec<(usize, u64, u64)> = vec![];
    for p in pieces {
        match out.last_mut() {
            Some((file, _, end)) if *file == p.file && *end == p.start => *end = p.end,
            _ => out.push((p.file, p.start, p.end)),
        }
    }
    out.into_iter()
        .map(|(i, start, end)| {
            let f = &files[i];
            let whole = PartitionedFile::new(f.path.clone(), f.size);
            if start == 0 && end == f.size {
                whole
            } else {
                whole.with_range(start as i64, end as i64)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(groups: &[FileGroup]) -> Vec<Vec<(String, i64, i64)>> {
        groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|f| {
                        let whole = (0, f.object_meta.size as i64);
                        let (s, e) = f.range.as_ref().map_or(whole, |r| (r.start, r.end));
                        (f.object_meta.location.to_string(), s, e)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn neighbouring_row_groups_go_to_different_partitions() {
        let offsets = [4, 100, 200, 300];
        let files = [ScanFile {
            path: "a.parquet".into(),
            size: 400,
            offsets: Some(&offsets),
        }];
        let groups = spread(&files, 2);
        let a = |s, e| ("a.parquet".to_string(), s, e);
        assert_eq!(
            ranges(&groups),
            vec![vec![a(0, 100), a(200, 300)], vec![a(100, 200), a(300, 400)]]
        );
    }

    #[test]
    fn every_byte_is_in_exactly_one_range_whatever_the_offsets() {
        // Offsets out of order, repeated, out of the file: still a cover of [0, size).
        let offsets = [900, 4, 4, -3, 500, 2000];
        let files = [
            ScanFile {
                path: "a".into(),
                size: 1000,
                offsets: Some(&offsets),
            },
            ScanFile {
                path: "b".into(),
                size: 10,
                offsets: None,
            },
        ];
        for target in 1..6 {
            let mut covered: Vec<(String, i64, i64)> = ranges(&spread(&files, target))
                .into_iter()
                .flatten()
                .collect();
            covered.sort();
            let a: Vec<_> = covered.iter().filter(|c| c.0 == "a").collect();
            assert_eq!(a.first().map(|c| c.1), Some(0));
            for w in a.windows(2) {
                assert_eq!(w[0].2, w[1].1, "gap or overlap at target {target}");
            }
            assert_eq!(a.last().map(|c| c.2), Some(1000));
            assert_eq!(covered.iter().filter(|c| c.0 == "b").count(), 1);
        }
    }

    #[test]
    fn one_partition_reads_whole_files() {
        let offsets = [4, 100];
        let files = [ScanFile {
            path: "a".into(),
            size: 200,
            offsets: Some(&offsets),
        }];
        let groups = spread(&files, 1);
        assert!(groups[0].iter().all(|f| f.range.is_none()));
        assert_eq!(ranges(&groups), vec![vec![("a".into(), 0, 200)]]);
    }
}
