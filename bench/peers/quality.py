"""Peers for bench/quality.ts: scikit-learn and XGBoost on exactly the files Foresight uses.

    /usr/bin/python3 bench/peers/quality.py DIR

DIR holds telco-fold{k}-train.csv / telco-fold{k}-test.csv (k = 0..4, the same stratified
folds Foresight is measured on) and cdnow-train.csv / cdnow-test.csv (the snapshots Foresight's
`npm run snapshots` wrote). Models, as in anchors.md: logistic regression (standardised,
one-hot categoricals, blanks imputed), random forest (300 trees, min leaf 5), XGBoost (300 trees,
depth 4, lr 0.05) and HistGradientBoosting (300 iterations). Prints one JSON object: per data
set and model, the out-of-fold probabilities' metrics and the time spent.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DIR = sys.argv[1]


def frame(path, label, positive, drop):
    df = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    y = (df[label] == positive).astype(int).to_numpy()
    X = df.drop(columns=[label] + [c for c in drop if c in df.columns])
    return X, y


def encode(train, test):
    """One-hot categoricals, numeric columns as numbers (blanks → NaN), fitted on train."""
    both = pd.concat([train, test], keys=["train", "test"])
    numeric = {}
    for c in both.columns:
        converted = pd.to_numeric(both[c], errors="coerce")
        if converted.notna().sum() >= 0.95 * both[c].notna().sum():
            numeric[c] = converted
    cats = [c for c in both.columns if c not in numeric]
    parts = [pd.DataFrame(numeric)] + ([pd.get_dummies(both[cats].fillna("NA"), dtype=float)] if cats else [])
    out = pd.concat(parts, axis=1)
    return out.loc["train"].to_numpy(dtype=float), out.loc["test"].to_numpy(dtype=float)


def models():
    return {
        "logistic regression (standardised)": lambda: make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000)),
        "random forest, 300 trees, min leaf 5": lambda: make_pipeline(SimpleImputer(strategy="median"), RandomForestClassifier(n_estimators=300, min_samples_leaf=5, n_jobs=1, random_state=0)),
        "XGBoost, 300 trees, depth 4, lr 0.05": lambda: xgb.XGBClassifier(n_estimators=300, max_depth=4, learning_rate=0.05, tree_method="hist", n_jobs=1, random_state=0),
        "HistGradientBoosting, 300 iters": lambda: HistGradientBoostingClassifier(max_iter=300, random_state=0),
    }


def metrics(y, p):
    order = np.argsort(-p)
    red = p >= 0.7
    return {
        "auc": float(roc_auc_score(y, p)),
        "prAuc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "precisionAt07": float(y[red].mean()) if red.any() else None,
        "shareAt07": float(red.mean()),
        "precisionTop10": float(y[order[: len(y) // 10]].mean()),
    }


def telco():
    out = {}
    for name, make in models().items():
        aucs, ys, ps, seconds = [], [], [], 0.0
        for k in range(5):
            tr, ytr = frame(os.path.join(DIR, f"telco-fold{k}-train.csv"), "Churn", "Yes", ["customerID"])
            te, yte = frame(os.path.join(DIR, f"telco-fold{k}-test.csv"), "Churn", "Yes", ["customerID"])
            Xtr, Xte = encode(tr, te)
            t0 = time.perf_counter()
            m = make().fit(Xtr, ytr)
            seconds += time.perf_counter() - t0
            p = m.predict_proba(Xte)[:, 1]
            aucs.append(roc_auc_score(yte, p))
            ys.append(yte)
            ps.append(p)
        y, p = np.concatenate(ys), np.concatenate(ps)
        out[name] = {**metrics(y, p), "foldAucs": [float(a) for a in aucs], "aucMean": float(np.mean(aucs)), "aucSd": float(np.std(aucs)), "seconds": seconds}
    return out


def cdnow():
    out = split_pair("cdnow", "churned", "yes", ["customer_id"])
    te, yte = frame(os.path.join(DIR, "cdnow-test.csv"), "churned", "yes", ["customer_id"])
    # Recency alone (days since the last purchase) is the baseline every churn model must beat.
    return {"recency alone": {"auc": float(roc_auc_score(yte, pd.to_numeric(te["recency_days"])))}, **out}


def split_pair(name, label, positive, drop):
    """Models fitted on DIR/{name}-train.csv and scored on DIR/{name}-test.csv."""
    tr, ytr = frame(os.path.join(DIR, f"{name}-train.csv"), label, positive, drop)
    te, yte = frame(os.path.join(DIR, f"{name}-test.csv"), label, positive, drop)
    Xtr, Xte = encode(tr, te)
    out = {}
    for model, make in models().items():
        t0 = time.perf_counter()
        m = make().fit(Xtr, ytr)
        seconds = time.perf_counter() - t0
        out[model] = {**metrics(yte, m.predict_proba(Xte)[:, 1]), "seconds": seconds}
    return out


def present(*names):
    return all(os.path.exists(os.path.join(DIR, n)) for n in names)


result = {"versions": {"xgboost": xgb.__version__, "sklearn": __import__("sklearn").__version__}}
if present("telco-fold0-train.csv"):
    result["telco"] = telco()
if present("cdnow-train.csv", "cdnow-test.csv"):
    result["cdnow"] = cdnow()
if present("synthetic-train.csv", "synthetic-test.csv"):
    result["synthetic"] = split_pair("synthetic", "churned", "yes", ["account_id"])
print(json.dumps(result))
