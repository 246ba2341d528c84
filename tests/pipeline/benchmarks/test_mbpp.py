"""MBPP: the 500 test ids with the 3-shot prompt (ids 2, 3, 4), golden prompt checked."""

from __future__ import annotations



from pipeline.benchmarks import mbpp


def by_task(table):
    return {row["task_id"]: row for row in table.to_pylist()}


MBPP_11_PROMPT = """You are an expert Python programmer, and here is your task: Write a function to find the similar elements from the given two tuple lists. Your code should pass these tests:

assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)
assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)
assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)
[BEGIN]
def similar_elements(test_tup1, test_tup2):
  res = tuple(set(test_tup1) & set(test_tup2))
  return (res)
[DONE]
You are an expert Python programmer, and here is your task: Write a python function to identify non-prime numbers. Your code should pass these tests:

assert is_not_prime(2) == False
assert is_not_prime(10) == True
assert is_not_prime(35) == True
[BEGIN]
import math
def is_not_prime(n):
    result = False
    for i in range(2,int(math.sqrt(n)) + 1):
        if n % i == 0:
            result = True
    return result
[DONE]
You are an expert Python programmer, and here is your task: Write a function to find the largest integers from a given list of numbers using heap queue algorithm. Your code should pass these tests:

assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] 
assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] 
assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]
[BEGIN]
import heapq as hq
def heap_queue_largest(nums,n):
  largest_nums = hq.nlargest(n, nums)
  return largest_nums
[DONE]
You are an expert Python programmer, and here is your task: Write a python function to remove first and last occurrence of a given character from the string. Your code should pass these tests:

assert remove_Occ("hello","l") == "heo"
assert remove_Occ("abcda","a") == "bcd"
assert remove_Occ("PHP","P") == "H"
[BEGIN]
"""


def test_mbpp_loads_the_500_test_ids(mbpp_path):
    table = mbpp.load(mbpp_path)
    assert table.num_rows == 500
    assert sorted(int(t.split("/")[1]) for t in by_task(table)) == list(range(11, 511))


def test_mbpp_loads_the_test_ids_with_the_3_shot_prompt(mbpp_sample_path):
    table = mbpp.load(mbpp_sample_path)
    rows = by_task(table)
    assert sorted(rows) == [f"MBPP/{i}" for i in range(11, 17)]  # the shots 2-4 are not problems
    first = rows["MBPP/11"]
    assert first["prompt"] == MBPP_11_PROMPT
    assert first["fewshot_ids"] == ["MBPP/2", "MBPP/3", "MBPP/4"]
    assert first["stop"] == ["[DONE]"]
    assert first["entry_point"] == "remove_Occ"
    assert first["tests"].splitlines()[0] == 'assert remove_Occ("hello","l") == "heo"'


def test_mbpp_rows_run_their_reference_as_the_reference_harness_does(mbpp_sample_path):
    import subprocess
    import sys

    row = by_task(mbpp.load(mbpp_sample_path))["MBPP/11"]
    program = row["reference"] + "\n\n" + row["test_setup"] + "\n\n" + row["tests"] + "\n"
    assert subprocess.run([sys.executable, "-c", program], timeout=30).returncode == 0
