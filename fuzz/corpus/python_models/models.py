"""A Python model: its own environment, inputs as pyarrow Tables, output as a pyarrow Table."""

import bauplan


@bauplan.model(materialization_strategy="REPLACE")
@bauplan.python("3.11")
def top_pickup_zones(
    pickups=bauplan.Model("pickups", columns=["pickup_zone", "trips"]),
    top_n=bauplan.Parameter("top_n"),
):
    totals = pickups.group_by("pickup_zone").aggregate([("trips", "sum")])
    print(f"{totals.num_rows} pickup zones, keeping the top {top_n}")
    return totals.sort_by([("trips_sum", "descending")]).slice(0, top_n)
