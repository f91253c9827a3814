-- wrk script for `npm run bench:api`: every request is a POST of the same JSON body with a
-- bearer key, both passed in by bench/api.ts through the environment. The URL (with any query,
-- such as ?drivers=0) comes from wrk's command line.
wrk.method = "POST"
wrk.body = os.getenv("FORESIGHT_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FORESIGHT_BENCH_KEY")
