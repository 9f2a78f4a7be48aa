{{ config(materialized='table') }}
SELECT pickup_zone, SUM(trips) AS trips_sum
FROM {{ ref('pickups') }}
GROUP BY pickup_zone
ORDER BY trips_sum DESC
LIMIT 5
