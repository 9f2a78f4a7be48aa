SELECT z.Borough, COUNT(*) AS trips, AVG(t.trip_time) AS seconds
FROM taxi_fhvhv t
JOIN taxi_zones z ON t.PULocationID = z.LocationID
WHERE t.pickup_datetime >= TIMESTAMP '2023-01-15 00:00:00'
GROUP BY z.Borough
ORDER BY trips DESC
