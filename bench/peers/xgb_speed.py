"""XGBoost peer for bench/gbdt-speed.ts: scoring speed of 300 trees of depth 6.

    npx tsx bench/gbdt-data.ts                 # writes .foresight/bench/telco-*.csv
    /usr/bin/python3 bench/peers/xgb_speed.py

Trains 300 trees (depth 6, eta 0.05, hist) on the encoded Telco training rows, saves them as
.foresight/bench/xgb-telco-depth6.json (bench/gbdt-speed.ts imports the very same trees), then
times, single-threaded (nthread=1):
  - batch margins with inplace_predict on 100,000 rows (Telco hold-out rows repeated);
  - one-row inplace_predict calls (mostly Python and C-API overhead, for reference);
  - batch SHAP with predict(pred_contribs=True).
Best of several runs each (15 for the batch). Prints one JSON object.
"""
import json
import os
import time

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", ".foresight", "bench")


def load(name):
    data = np.genfromtxt(os.path.join(OUT, name), delimiter=",", skip_header=1, filling_values=np.nan)
    return data[:, :-1], data[:, -1].astype(int)


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    xtr, ytr = load("telco-train.csv")
    xte, _ = load("telco-test.csv")
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.05,
              "subsample": 0.8, "colsample_bytree": 0.8, "base_score": float(ytr.mean()), "seed": 42, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(xtr, label=ytr, missing=np.nan), num_boost_round=300)
    booster.save_model(os.path.join(OUT, "xgb-telco-depth6.json"))
    booster.set_param({"nthread": 1})

    reps = -(-100_000 // len(xte))
    big = np.ascontiguousarray(np.tile(xte, (reps, 1))[:100_000], dtype=np.float32)
    batch = best(lambda: booster.inplace_predict(big, predict_type="margin", missing=np.nan), runs=15)

    one = np.ascontiguousarray(xte[:1], dtype=np.float32)
    n_single = 2000
    single = best(lambda: [booster.inplace_predict(one, predict_type="margin", missing=np.nan) for _ in range(n_single)], runs=3)

    small = xgb.DMatrix(big[:5000], missing=np.nan, nthread=1)
    contribs = best(lambda: booster.predict(small, pred_contribs=True), runs=3)

    # The margins of the hold-out rows, for bench/gbdt-speed.ts to check it imports the same trees.
    margins = booster.inplace_predict(np.ascontiguousarray(xte, dtype=np.float32), predict_type="margin", missing=np.nan)
    with open(os.path.join(OUT, "xgb-telco-depth6-margins.json"), "w") as f:
        json.dump([float(v) for v in margins], f)

    print(json.dumps({
        "peer": "xgboost", "version": xgb.__version__, "trees": 300, "depth": 6, "nthread": 1,
        "batchRows": len(big), "batchRowsPerSec": round(len(big) / batch), "batchUsPerRow": round(1e6 * batch / len(big), 3),
        "singleCallUsPerRow": round(1e6 * single / n_single, 2),
        "contribsRowsPerSec": round(5000 / contribs), "contribsUsPerRow": round(1e6 * contribs / 5000, 1),
    }))


if __name__ == "__main__":
    main()
