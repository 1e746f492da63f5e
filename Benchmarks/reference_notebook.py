"""The reference stacked-ensemble experiment in Python, timed as a peer.

This reimplements, with pandas, NumPy and scikit-learn, the algorithms of the
Python notebook whose results stackrec reproduces: a scikit-learn
train_test_split (test 20%, then meta 20% of the rest, random_state=42), a
bias model of plain mean deviations, item kNN with a dense cosine similarity
matrix (k = 40), matrix factorisation trained by pure-Python SGD (30 factors,
12 epochs, lr 0.01, reg 0.05), and a scikit-learn LinearRegression stack.

It prints one JSON object: each stage's seconds, the test RMSE of every
model, the peak resident memory, and each model's scoring rate in pairs per
second, measured on a sample and used to estimate the time to score every
(user, movie) pair for a feature store.

With --write-split DIR it also writes the split it draws to DIR as
base_train.csv, meta_train.csv and test.csv (userId,movieId,rating,timestamp,
rows in shuffled order), which stackrec-precompute reads with --split-files.

Usage: python3 reference_notebook.py DATA_DIR [--sample-pairs N] [--write-split DIR]
"""

import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.model_selection import train_test_split


def main():
    data_dir = sys.argv[1]
    sample_pairs = 20000
    if "--sample-pairs" in sys.argv:
        sample_pairs = int(sys.argv[sys.argv.index("--sample-pairs") + 1])
    timings = {}
    start = time.perf_counter()

    step = time.perf_counter()
    ratings = pd.read_csv(f"{data_dir}/ratings.csv")
    train_full, test = train_test_split(ratings, test_size=0.2, random_state=42)
    base, meta = train_test_split(train_full, test_size=0.2, random_state=42)
    timings["load_and_split"] = time.perf_counter() - step
    if "--write-split" in sys.argv:
        split_dir = sys.argv[sys.argv.index("--write-split") + 1]
        os.makedirs(split_dir, exist_ok=True)
        for name, part in [("base_train", base), ("meta_train", meta), ("test", test)]:
            part.to_csv(f"{split_dir}/{name}.csv", index=False)

    # Bias model: plain mean deviations.
    step = time.perf_counter()
    mu = base.rating.mean()
    user_bias = (base.groupby("userId").rating.mean() - mu).to_dict()
    item_bias = (base.groupby("movieId").rating.mean() - mu).to_dict()

    def predict_bias(user, item):
        return mu + user_bias.get(user, 0.0) + item_bias.get(item, 0.0)

    timings["fit_bias"] = time.perf_counter() - step

    # Item kNN: dense cosine similarity of item columns, k = 40.
    step = time.perf_counter()
    matrix = base.pivot_table(index="userId", columns="movieId", values="rating").fillna(0)
    similarity = cosine_similarity(matrix.T.values)
    item_index = {item: position for position, item in enumerate(matrix.columns)}
    user_items = {
        user: (np.array([item_index[i] for i in group.movieId]), group.rating.values)
        for user, group in base.groupby("userId")
    }
    timings["fit_item_knn"] = time.perf_counter() - step

    def predict_knn(user, item, k=40):
        if user not in user_items or item not in item_index:
            return mu
        items, values = user_items[user]
        sims = similarity[item_index[item], items]
        top = np.argsort(sims)[-k:]
        total = np.abs(sims[top]).sum()
        if total == 0:
            return values[top].mean()
        return float(np.dot(sims[top], values[top]) / total)

    # Matrix factorisation: SGD over shuffled ratings in pure Python.
    step = time.perf_counter()
    rng = np.random.default_rng(42)
    users = {u: n for n, u in enumerate(base.userId.unique())}
    items = {i: n for n, i in enumerate(base.movieId.unique())}
    factors = 30
    p = rng.normal(0, 0.1, (len(users), factors))
    q = rng.normal(0, 0.1, (len(items), factors))
    bu = np.zeros(len(users))
    bi = np.zeros(len(items))
    rows = [(users[u], items[i], r) for u, i, r in zip(base.userId, base.movieId, base.rating)]
    for _ in range(12):
        rng.shuffle(rows)
        for u, i, r in rows:
            error = r - (mu + bu[u] + bi[i] + p[u] @ q[i])
            bu[u] += 0.01 * (error - 0.05 * bu[u])
            bi[i] += 0.01 * (error - 0.05 * bi[i])
            pu = p[u].copy()
            p[u] += 0.01 * (error * q[i] - 0.05 * p[u])
            q[i] += 0.01 * (error * pu - 0.05 * q[i])
    timings["fit_mf"] = time.perf_counter() - step

    def predict_mf(user, item):
        if user not in users or item not in items:
            return mu
        u, i = users[user], items[item]
        return float(mu + bu[u] + bi[i] + p[u] @ q[i])

    models = {"bias": predict_bias, "item_knn": predict_knn, "mf": predict_mf}

    # Stacking on meta-train, then test.
    step = time.perf_counter()
    meta_x = np.array([[f(u, i) for f in models.values()] for u, i in zip(meta.userId, meta.movieId)])
    stack = LinearRegression().fit(meta_x, meta.rating.values)
    test_x = np.array([[f(u, i) for f in models.values()] for u, i in zip(test.userId, test.movieId)])
    timings["predict_and_stack"] = time.perf_counter() - step

    truth = test.rating.values
    rmse = {
        key: float(np.sqrt(np.mean((test_x[:, column] - truth) ** 2)))
        for column, key in enumerate(models)
    }
    rmse["average"] = float(np.sqrt(np.mean((test_x.mean(axis=1) - truth) ** 2)))
    rmse["stacked"] = float(np.sqrt(np.mean((stack.predict(test_x) - truth) ** 2)))
    timings["experiment"] = time.perf_counter() - start

    # Scoring rate on a sample of (user, movie) pairs, for the store estimate.
    all_users = base.userId.unique()
    all_items = ratings.movieId.unique()
    pair_count = len(all_users) * len(all_items)
    rates = {}
    sample_rng = np.random.default_rng(7)
    sample_users = sample_rng.choice(all_users, sample_pairs)
    sample_items = sample_rng.choice(all_items, sample_pairs)
    for key, predict in models.items():
        step = time.perf_counter()
        for u, i in zip(sample_users, sample_items):
            predict(u, i)
        rates[key] = sample_pairs / (time.perf_counter() - step)
    all_pairs_seconds = sum(pair_count / rate for rate in rates.values())

    print(
        json.dumps(
            {
                "timings_seconds": timings,
                "test_rmse": rmse,
                "pairs_per_second": rates,
                "all_pairs": pair_count,
                "all_pairs_seconds_estimate": all_pairs_seconds,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
