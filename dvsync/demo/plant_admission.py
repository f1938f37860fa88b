"""Planted admission candidates (UngVien): eligible and not eligible, each variant once."""

from __future__ import annotations

import numpy as np

from dvsync.demo import names
from dvsync.demo.calendar import (
    DAY,
    add_years,
)
from dvsync.demo.expected import Findings
from dvsync.demo.population import (
    NAT,
    person_id,
)
from schemas.contract import RATING_LABELS


class AdmissionPlants(Findings):
    def plant_admission(self):
        variants_ok = ["cadre_xs", "cadre_cstd", "cadre_merit", "student", "age18_cert5", "age60", "feb29"]
        variants_ko = [
            "age17",
            "age61",
            "cert_old",
            "not_verified",
            "no_conclusion",
            "cadre_htnv",
            "cadre_plain",
            "student_one_gioi",
            "student_tb",
        ]
        todo = [(v, True) for v in variants_ok] + [(v, False) for v in variants_ko]
        n = max(self.k * 2, len(todo) if self.k >= 3 else 4)
        for j in range(n):
            v, ok = todo[j % len(todo)] if self.k >= 3 else todo[[0, 3, 7, 9][j % 4]]
            self.candidate(v, ok)

    def candidate(self, v: str, ok: bool):
        rng, a = self.rng, self.as_of
        female = bool(rng.random() < 0.5)
        student = v.startswith("student")
        birth = a - int(rng.integers((19 if student else 24) * 365, (23 if student else 45) * 365)) * DAY
        if v == "age18_cert5":
            birth = add_years(np.array([a]), -18)[0]
        elif v == "age60":
            birth = add_years(np.array([a]), -61)[0] + DAY
        elif v == "feb29":
            birth = np.datetime64("2004-02-29")
        elif v == "age17":
            birth = add_years(np.array([a]), -18)[0] + DAY
        elif v == "age61":
            birth = add_years(np.array([a]), -61)[0]
        cert = a - int(rng.integers(60, 1500)) * DAY
        if v == "age18_cert5":
            cert = add_years(np.array([a]), -5)[0]
        elif v == "cert_old":
            cert = add_years(np.array([a]), -5)[0] - DAY
        if student:
            ratings = {
                "student": ["Giỏi", "Khá", "Xuất sắc"],
                "student_one_gioi": ["Khá", "Giỏi", "Khá"],
                "student_tb": ["Giỏi", "Trung bình", "Giỏi"],
            }[v]
        else:
            ratings = {
                "cadre_xs": ["HTTNV", "HTXSNV", "HTTNV"],
                "cadre_htnv": ["HTTNV", "HTNV", "HTXSNV"],
                "cadre_plain": ["HTTNV", "HTTNV", "HTTNV"],
            }.get(v, ["HTTNV", "HTXSNV", "HTTNV"])
            if v in ("cadre_cstd", "cadre_merit"):
                ratings = ["HTTNV", "HTTNV", "HTTNV"]
            if rng.random() < 0.5:  # full text or code, both accepted
                ratings = [RATING_LABELS[r] for r in ratings]
        cell = self.submitting[int(rng.integers(len(self.submitting)))]
        pid = person_id(int(rng.choice(self.region.near_cccd)), birth, female, self.new_tail())
        verified = v != "not_verified"
        self.candidates.append(
            {
                "cell": cell,
                "personal_id": pid,
                "full_name": names.full_names(rng, np.array([female]))[0],
                "birth_date": birth,
                "candidate_kind": "Học sinh, sinh viên" if student else "Cán bộ",
                "rating_y1": ratings[0],
                "rating_y2": ratings[1],
                "rating_y3": ratings[2],
                "emulation_fighter": v == "cadre_cstd",
                "provincial_merit": v == "cadre_merit",
                "course_certificate_on": cert,
                "background_verified": verified,
                "political_conclusion_on": NAT
                if v == "no_conclusion"
                else a - int(rng.integers(10, 200)) * DAY,
            }
        )
        code = "ADMISSION_ELIGIBLE" if ok else "ADMISSION_NOT_ELIGIBLE"
        masked = "*" * 8 + pid[-4:]
        self.exp(code, cell, masked, "student" if student else "cadre", note=f"candidate: {v}")
