SELECT a.Name, j.value
FROM Artist AS a, json_each('[1, 2]') AS j
