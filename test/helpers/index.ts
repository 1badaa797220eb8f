// The test helpers in one import (`import * as h from '../../helpers'`);
// each job lives in a file of its own beside this one.
export * from './paths';
export * from './tmp';
export * from './fixture';
export * from './holders';
export * from './states';
export * from './ss';
export * from './cli';
export * from './privilege';
export * from './cgroups';
export * from './bytecode';
export * from './docs';
export * from './serve';
export * from './thrown';
