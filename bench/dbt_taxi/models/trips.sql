{{ config(materialized='view') }}
SELECT pickup_datetime, PULocationID, DOLocationID, trip_miles
FROM read_parquet({{ var('taxi_files') }})
WHERE pickup_datetime >= TIMESTAMP '2023-01-15 00:00:00'
