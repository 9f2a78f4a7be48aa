-- bauplan: materialization_strategy=REPLACE
-- Trips and average distance between each pair of pickup and dropoff zones.
SELECT
    pz.Zone AS pickup_zone,
    dz.Zone AS dropoff_zone,
    COUNT(*) AS trips,
    ROUND(AVG(t.trip_miles), 2) AS avg_miles
FROM trips t
JOIN taxi_zones pz ON t.PULocationID = pz.LocationID
JOIN taxi_zones dz ON t.DOLocationID = dz.LocationID
GROUP BY pz.Zone, dz.Zone
