{{ config(materialized='table') }}
SELECT
    pz.Zone AS pickup_zone,
    dz.Zone AS dropoff_zone,
    COUNT(*) AS trips,
    ROUND(AVG(t.trip_miles), 2) AS avg_miles
FROM {{ ref('trips') }} t
JOIN read_parquet({{ var('zones_files') }}) pz ON t.PULocationID = pz.LocationID
JOIN read_parquet({{ var('zones_files') }}) dz ON t.DOLocationID = dz.LocationID
GROUP BY pz.Zone, dz.Zone
