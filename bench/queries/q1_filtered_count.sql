SELECT COUNT(*) AS trips
FROM taxi_fhvhv
WHERE pickup_datetime >= TIMESTAMP '2023-01-10 00:00:00'
  AND pickup_datetime < TIMESTAMP '2023-01-12 00:00:00'
  AND trip_miles > 5.0
