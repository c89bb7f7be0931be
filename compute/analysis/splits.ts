/**
 * Train/validation/test splits of trials by subject: leave-one-subject-out folds, all nine folds,
 * the CBraMod/REVE split (subjects 1–5 train, 6–7 validation, 8–9 test) under which the
 * published linear-probe numbers were measured, and within-subject K-fold cross-validation for a
 * single recording.
 */
import { EegSaeError } from "../util/errors.ts";

export class SplitError extends EegSaeError {}

/** Trial indices of a train/validation/test split by subject (not a trial's `Split` name). */
export interface SubjectSplit {
  /** A name for results: "loso-s3", "cbramod". */
  name: string;
  train: Int32Array;
  /** Trials that choose the regularisation strength; empty when it is fixed. */
  validation: Int32Array;
  test: Int32Array;
  trainSubjects: number[];
  validationSubjects: number[];
  testSubjects: number[];
}

export const CBRAMOD_SPLIT = {
  train: [1, 2, 3, 4, 5],
  validation: [6, 7],
  test: [8, 9],
} as const;

function indicesOf(subjects: ArrayLike<number>, wanted: ReadonlySet<number>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < subjects.length; i++) if (wanted.has(subjects[i])) out.push(i);
  return Int32Array.from(out);
}

export function distinctSubjects(subjects: ArrayLike<number>): number[] {
  return [...new Set(Array.from(subjects))].sort((a, b) => a - b);
}

/** Train on every other subject, test on this one. */
export function leaveOneSubjectOut(subjects: ArrayLike<number>, testSubject: number): SubjectSplit {
  const all = distinctSubjects(subjects);
  if (!all.includes(testSubject)) {
    throw new SplitError(`test subject ${testSubject} has no trials (subjects: ${all.join(", ")})`);
  }
  const trainSubjects = all.filter((s) => s !== testSubject);
  if (trainSubjects.length === 0) {
    throw new SplitError(`leave-one-subject-out needs at least two subjects, got ${all}`);
  }
  return {
    name: `loso-s${testSubject}`,
    train: indicesOf(subjects, new Set(trainSubjects)),
    validation: new Int32Array(0),
    test: indicesOf(subjects, new Set([testSubject])),
    trainSubjects,
    validationSubjects: [],
    testSubjects: [testSubject],
  };
}

/** One leave-one-subject-out fold per subject present. */
export function allLeaveOneSubjectOut(subjects: ArrayLike<number>): SubjectSplit[] {
  return distinctSubjects(subjects).map((s) => leaveOneSubjectOut(subjects, s));
}

/** Subjects 1–5 train, 6–7 validation, 8–9 test; every group must have trials. */
export function cbramodSplit(subjects: ArrayLike<number>): SubjectSplit {
  const split: SubjectSplit = {
    name: "cbramod",
    train: indicesOf(subjects, new Set(CBRAMOD_SPLIT.train)),
    validation: indicesOf(subjects, new Set(CBRAMOD_SPLIT.validation)),
    test: indicesOf(subjects, new Set(CBRAMOD_SPLIT.test)),
    trainSubjects: [...CBRAMOD_SPLIT.train],
    validationSubjects: [...CBRAMOD_SPLIT.validation],
    testSubjects: [...CBRAMOD_SPLIT.test],
  };
  const groups = [
    ["train", split.train, split.trainSubjects],
    ["validation", split.validation, split.validationSubjects],
    ["test", split.test, split.testSubjects],
  ] as const;
  for (const [part, trials, wanted] of groups) {
    if (trials.length === 0) {
      throw new SplitError(
        `the CBraMod split has no ${part} trials (wants subjects ${wanted.join(", ")}; ` +
          `present: ${distinctSubjects(subjects).join(", ")})`,
      );
    }
  }
  return split;
}

/**
 * K folds within each subject, stratified by class, each fold one contiguous block of every
 * class's trials in recording order (trial index order), so neighbouring trials, which share slow
 * drifts, are not split between training and test.
 */
export function withinSubjectFolds(
  subjects: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): SubjectSplit[] {
  if (!Number.isInteger(k) || k < 2) throw new SplitError(`--cv_folds must be 2 or more, got ${k}`);
  const foldOf = new Int32Array(labels.length).fill(-1);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    const g = `${subjects[i]}/${labels[i]}`;
    groups.set(g, [...(groups.get(g) ?? []), i]);
  }
  for (const [g, trials] of groups) {
    if (trials.length < k) {
      const [subject, label] = g.split("/");
      throw new SplitError(
        `subject ${subject} has ${trials.length} trials of class ${label}, fewer than ${k} folds`,
      );
    }
    trials.forEach((t, j) => foldOf[t] = Math.floor((j * k) / trials.length));
  }
  const all = distinctSubjects(subjects);
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [], test: number[] = [];
    foldOf.forEach((fold, i) => fold === f ? test.push(i) : fold >= 0 && train.push(i));
    return {
      name: `cv${k}-f${f + 1}`,
      train: Int32Array.from(train),
      validation: new Int32Array(0),
      test: Int32Array.from(test),
      trainSubjects: all,
      validationSubjects: [],
      testSubjects: all,
    };
  });
}
