// filled in by the scheduler work (jobs.yaml schema and loader); see ../../README.md
export {};
