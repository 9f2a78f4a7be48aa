-- The trips of interest: a few columns, from a start time on. Not materialized: it stays in
-- memory for its children (materialization_strategy defaults to NONE).
SELECT pickup_datetime, PULocationID, DOLocationID, trip_miles
FROM taxi_fhvhv
WHERE pickup_datetime >= CAST($start_time AS TIMESTAMP)
