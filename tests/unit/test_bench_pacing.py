"""The open-loop schedule of the load generator: due times, latency counted from them, and the schedule figures."""
import time

from local.bench.pacing import Pacing, Schedule, pacing_figures, start_times


def test_requests_are_due_at_fixed_intervals_from_the_start_on_both_clocks():
    schedule = Schedule(rate=4.0, start=10.0, wall_start=1000.0)
    assert [(d.index, d.at, d.wall) for d in map(schedule.due, range(3))] == [
        (0, 10.0, 1000.0), (1, 10.25, 1000.25), (2, 10.5, 1000.5)]


def test_latency_counts_from_the_due_time_so_a_late_send_shows_as_latency():
    due = Schedule(rate=4.0, start=10.0, wall_start=1000.0).due(1)
    assert start_times(due) == (1000.25, 10.25)  # the sender measures from here, not from when it got to send
    wall, started = start_times(None)  # closed loop: from the send itself
    assert abs(wall - time.time()) < 1 and abs(started - time.perf_counter()) < 1


def test_an_early_send_has_no_negative_lag():
    pacing = Pacing(4.0)
    due = Schedule(rate=4.0, start=10.0, wall_start=1000.0).due(0)
    pacing.sent(due, 9.999)
    pacing.sent(due, 10.3)
    assert [round(lag, 9) for lag in pacing.lags_s] == [0.0, 0.3]


def test_the_figures_give_the_achieved_rate_the_lag_and_the_bound_that_held_sends_back():
    schedule = Schedule(rate=10.0, start=0.0, wall_start=0.0)
    pacing = Pacing(10.0, first_due=0.0)
    for index, late in enumerate([0.0, 0.0, 0.0, 0.1, 0.1]):
        due = schedule.due(index)
        pacing.sent(due, due.at + late)
    pacing.bound_hits["-c"] += 2
    figures = pacing_figures(pacing)
    assert figures["sent"] == 5 and figures["held by -c"] == 2
    assert round(figures["achieved/s"], 6) == round(4 / 0.5, 6)  # 4 intervals, the last send 0.1 s late
    assert round(figures["lag max ms"], 6) == 100.0
