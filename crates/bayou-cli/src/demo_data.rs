//! Deterministic synthetic data shaped like the NYC TLC high-volume FHV trip records
//! (`taxi_fhvhv`, one month, skewed zone popularity, some nulls) and the 265-row `taxi_zones`.
//!
//! The same row count always gives the same bytes, so tests and benchmarks can compare runs.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

/// Rows per generated batch.
pub(crate) const BATCH_ROWS: usize = 64 * 1024;

/// 2023-01-01T00:00:00Z in microseconds.
const MONTH_START_US: i64 = 1_672_531_200_000_000;
const MONTH_US: i64 = 31 * 24 * 3600 * 1_000_000;

/// A small, fast, deterministic PRNG (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) fn taxi_schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, None);
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let f = |n: &str| Field::new(n, DataType::Float64, true);
    let i = |n: &str| Field::new(n, DataType::Int64, true);
    Arc::new(Schema::new(vec![
        s("hvfhs_license_num"),
        s("dispatching_base_num"),
        s("originating_base_num"),
        Field::new("request_datetime", ts(), true),
        Field::new("on_scene_datetime", ts(), true),
        Field::new("pickup_datetime", ts(), true),
        Field::new("dropoff_datetime", ts(), true),
        i("PULocationID"),
        i("DOLocationID"),
        f("trip_miles"),
        i("trip_time"),
        f("base_passenger_fare"),
        f("tolls"),
        f("bcf"),
        f("sales_tax"),
        f("congestion_surcharge"),
        f("airport_fee"),
        f("tips"),
        f("driver_pay"),
        s("shared_request_flag"),
        s("shared_match_flag"),
        s("access_a_ride_flag"),
        s("wav_request_flag"),
        s("wav_match_flag"),
    ]))
}

/// The zone id of the `rank`-th most popular zone (rank 0..263): a fixed scramble of 1..=263.
fn zone_of_rank(rank: i64) -> i64 {
    (rank * 97 + 160) % 263 + 1
}

/// A zone id in 1..=263, skewed so a few zones get most pickups (like Manhattan's).
fn zone(rng: &mut Rng) -> i64 {
    let u = rng.unit();
    zone_of_rank(((u * u * u) * 263.0) as i64)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Rows `start..start+len` of a `total`-row taxi table. Pickup times grow with the row number, so
/// time filters prune files and row groups as they would on real, time-ordered trip data.
pub(crate) fn taxi_batch(start: usize, len: usize, total: usize) -> RecordBatch {
    let mut lic = StringBuilder::new();
    let mut dispatch = StringBuilder::new();
    let mut origin = StringBuilder::new();
    let mut request = TimestampMicrosecondBuilder::with_capacity(len);
    let mut on_scene = TimestampMicrosecondBuilder::with_capacity(len);
    let mut pickup = TimestampMicrosecondBuilder::with_capacity(len);
    let mut dropoff = TimestampMicrosecondBuilder::with_capacity(len);
    let mut pu = Int64Builder::with_capacity(len);
    let mut dl = Int64Builder::with_capacity(len);
    let mut miles = Float64Builder::with_capacity(len);
    let mut time = Int64Builder::with_capacity(len);
    let mut fare = Float64Builder::with_capacity(len);
    let mut tolls = Float64Builder::with_capacity(len);
    let mut bcf = Float64Builder::with_capacity(len);
    let mut tax = Float64Builder::with_capacity(len);
    let mut congestion = Float64Builder::with_capacity(len);
    let mut airport = Float64Builder::with_capacity(len);
    let mut tips = Float64Builder::with_capacity(len);
    let mut pay = Float64Builder::with_capacity(len);
    let mut flags: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    const LICENSES: [&str; 4] = ["HV0003", "HV0005", "HV0004", "HV0002"];
    let step = MONTH_US / total.max(1) as i64;
    for row in start..start + len {
        let mut rng = Rng(row as u64 ^ 0x5EED_BA40);
        let l = match rng.below(100) {
            0..=71 => 0,
            72..=96 => 1,
            97..=98 => 2,
            _ => 3,
        };
        lic.append_value(LICENSES[l]);
        let base = format!("B{:05}", 2500 + rng.below(40) + 100 * l as u64);
        dispatch.append_value(&base);
        if rng.below(10) < 7 {
            origin.append_value(&base);
        } else {
            origin.append_null();
        }
        let req = MONTH_START_US + row as i64 * step + rng.below(step.max(1) as u64) as i64;
        let wait = 60_000_000 + rng.below(600_000_000) as i64;
        let pick = req + wait;
        request.append_value(req);
        if rng.below(10) < 7 {
            on_scene.append_value(pick - rng.below(wait as u64 / 2) as i64);
        } else {
            on_scene.append_null();
        }
        let m = round2(-4.8 * (1.0 - rng.unit()).ln() + 0.3);
        let secs = (m * 170.0 + 120.0 + rng.below(600) as f64) as i64;
        pickup.append_value(pick);
        dropoff.append_value(pick + secs * 1_000_000);
        let (from, to) = (zone(&mut rng), zone(&mut rng));
        pu.append_value(from);
        dl.append_value(to);
        miles.append_value(m);
        time.append_value(secs);
        let base_fare = round2(2.5 + m * 1.55 + secs as f64 * 0.42 / 60.0);
        fare.append_value(base_fare);
        tolls.append_value(if rng.below(20) == 0 { 6.55 } else { 0.0 });
        bcf.append_value(round2(base_fare * 0.025));
        tax.append_value(round2(base_fare * 0.08875));
        congestion.append_value(if from < 150 { 2.75 } else { 0.0 });
        match rng.below(20) {
            0 => airport.append_value(2.5),
            1 => airport.append_null(),
            _ => airport.append_value(0.0),
        }
        tips.append_value(if rng.below(5) == 0 {
            round2(base_fare * 0.15)
        } else {
            0.0
        });
        pay.append_value(round2(base_fare * 0.72));
        let shared = rng.below(50) == 0;
        flags[0].append_value(if shared { "Y" } else { "N" });
        flags[1].append_value(if shared && rng.below(2) == 0 {
            "Y"
        } else {
            "N"
        });
        flags[2].append_value("N");
        let wav = rng.below(100) == 0;
        flags[3].append_value(if wav { "Y" } else { "N" });
        flags[4].append_value(if wav || rng.below(30) == 0 { "Y" } else { "N" });
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(lic.finish()),
        Arc::new(dispatch.finish()),
        Arc::new(origin.finish()),
        Arc::new(request.finish()),
        Arc::new(on_scene.finish()),
        Arc::new(pickup.finish()),
        Arc::new(dropoff.finish()),
        Arc::new(pu.finish()),
        Arc::new(dl.finish()),
        Arc::new(miles.finish()),
        Arc::new(time.finish()),
        Arc::new(fare.finish()),
        Arc::new(tolls.finish()),
        Arc::new(bcf.finish()),
        Arc::new(tax.finish()),
        Arc::new(congestion.finish()),
        Arc::new(airport.finish()),
        Arc::new(tips.finish()),
        Arc::new(pay.finish()),
    ];
    columns.extend(flags.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(taxi_schema(), columns).expect("columns match the schema")
}

/// The 265 taxi zones: LocationID, Borough, Zone, service_zone.
pub(crate) fn zones_batch() -> RecordBatch {
    const BOROUGHS: [&str; 5] = ["Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island"];
    let mut id = Int64Builder::new();
    let mut borough = StringBuilder::new();
    let mut zone = StringBuilder::new();
    let mut service = StringBuilder::new();
    for loc in 1..=265i64 {
        id.append_value(loc);
        let (b, z, s) = match loc {
            1 => ("EWR".to_string(), "Newark Airport".to_string(), "EWR"),
            264 => ("Unknown".into(), "NV".into(), "N/A"),
            265 => ("N/A".into(), "Outside of NYC".into(), "N/A"),
            132 => ("Queens".into(), "JFK Airport".into(), "Airports"),
            138 => ("Queens".into(), "LaGuardia Airport".into(), "Airports"),
            _ => {
                // Popular zones are in Manhattan, the least popular on Staten Island.
                let rank = (0..263).find(|r| zone_of_rank(*r) == loc).unwrap_or(262);
                let b = BOROUGHS[match rank {
                    0..60 => 0,
                    60..120 => 1,
                    120..190 => 2,
                    190..240 => 3,
                    _ => 4,
                }];
                let s = if b == "Manhattan" {
                    "Yellow Zone"
                } else {
                    "Boro Zone"
                };
                (b.to_string(), format!("{b} Zone {loc:03}"), s)
            }
        };
        borough.append_value(b);
        zone.append_value(z);
        service.append_value(s);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("LocationID", DataType::Int64, true),
        Field::new("Borough", DataType::Utf8, true),
        Field::new("Zone", DataType::Utf8, true),
        Field::new("service_zone", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(id.finish()),
            Arc::new(borough.finish()),
            Arc::new(zone.finish()),
            Arc::new(service.finish()),
        ],
    )
    .expect("columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_time_ordered() {
        let a = taxi_batch(0, 1000, 1000);
        let b = taxi_batch(0, 1000, 1000);
        assert_eq!(a, b);
        assert_eq!(a.num_columns(), 24);
        let pick = a
            .column_by_name("pickup_datetime")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
            .unwrap();
        // Roughly increasing: the last pickup is later than the first by weeks.
        assert!(pick.value(999) - pick.value(0) > 20 * 24 * 3600 * 1_000_000);
        assert!(
            a.column_by_name("originating_base_num")
                .unwrap()
                .null_count()
                > 0
        );
    }

    #[test]
    fn zones_cover_every_location_id() {
        let z = zones_batch();
        assert_eq!(z.num_rows(), 265);
    }
}
