"""Checks that gate publishing: the run merges into the branch only if they pass."""

import bauplan
from bauplan.standard_expectations import expect_column_no_nulls


@bauplan.expectation()
@bauplan.python("3.11")
def trips_have_a_pickup_zone(data=bauplan.Model("trips", columns=["PULocationID"])):
    ok = expect_column_no_nulls(data, "PULocationID")
    print(f"checked {data.num_rows} trips: {'ok' if ok else 'nulls found'}")
    return ok
