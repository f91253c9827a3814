"""XGBoost peer for bench/gbdt-train.ts: same data, same trees, timed.

    npx tsx bench/gbdt-data.ts                       # writes .foresight/bench/*.csv
    /usr/bin/python3 bench/peers/xgb_train.py [--rounds 300 --depth 4 --eta 0.05 --repeat 3]

For each data set and nthread in (1, 2): trains XGBoost (tree_method="hist", max_bin 256,
subsample 0.8, colsample_bytree 0.8, min_child_weight 1, lambda 1, base_score = training base
rate like Foresight's GBDT), times xgb.train (best and median of --repeat runs, quantile
sketch included; DMatrix construction timed apart), and reports hold-out ROC-AUC. Also fits
scikit-learn's LogisticRegression (missing values mean-imputed) as the linear reference.
Prints one JSON object per line.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", ".foresight", "bench")


def load(name):
    path = os.path.join(OUT, name)
    with open(path) as f:
        header = [h.strip('"') for h in f.readline().strip().split(",")]
    data = np.genfromtxt(path, delimiter=",", skip_header=1, filling_values=np.nan)
    return data[:, :-1], data[:, -1].astype(int), header[:-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--eta", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sets", default="telco,synthetic,synthetic-mild")
    args = ap.parse_args()
    for name in args.sets.split(","):
        xtr, ytr, names = load(f"{name}-train.csv")
        xte, yte, _ = load(f"{name}-test.csv")
        for nthread in (1, 2):
            params = {
                "objective": "binary:logistic",
                "tree_method": "hist",
                "max_depth": args.depth,
                "eta": args.eta,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
                "min_child_weight": 1,
                "lambda": 1,
                "max_bin": 256,
                "base_score": float(ytr.mean()),
                "seed": 42,
                "nthread": nthread,
            }
            times, dm_times, aucs = [], [], []
            for rep in range(args.repeat):
                t0 = time.perf_counter()
                dtrain = xgb.DMatrix(xtr, label=ytr, missing=np.nan, nthread=nthread)
                t1 = time.perf_counter()
                booster = xgb.train({**params, "seed": 42 + rep}, dtrain, num_boost_round=args.rounds)
                t2 = time.perf_counter()
                dm_times.append(t1 - t0)
                times.append(t2 - t1)
                p = booster.predict(xgb.DMatrix(xte, missing=np.nan))
                aucs.append(roc_auc_score(yte, p))
            print(json.dumps({
                "peer": "xgboost", "version": xgb.__version__, "set": name, "nthread": nthread,
                "rounds": args.rounds, "depth": args.depth, "eta": args.eta,
                "trainMs": round(1000 * min(times), 1), "trainMsMedian": round(1000 * statistics.median(times), 1),
                "dmatrixMs": round(1000 * min(dm_times), 1),
                "auc": round(aucs[0], 4), "aucMean": round(float(np.mean(aucs)), 4),
            }), flush=True)
        mean = np.nanmean(xtr, axis=0)
        fill = lambda a: np.where(np.isnan(a), mean, a)
        lr = LogisticRegression(max_iter=5000).fit(fill(xtr), ytr)
        print(json.dumps({"peer": "sklearn-logistic", "set": name, "auc": round(roc_auc_score(yte, lr.predict_proba(fill(xte))[:, 1]), 4)}), flush=True)


if __name__ == "__main__":
    main()
