SELECT hvfhs_license_num, PULocationID, COUNT(*) AS trips, AVG(trip_miles) AS miles, SUM(base_passenger_fare) AS fares
FROM taxi_fhvhv
GROUP BY hvfhs_license_num, PULocationID
ORDER BY trips DESC
LIMIT 20
