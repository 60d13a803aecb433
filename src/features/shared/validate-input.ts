/**
 * Input validation for type-graphql arguments (its `validateFn` hook): runs the class-validator rules
 * declared on input classes and throws `BadUserInputError` naming the first failing field by its path
 * in the arguments (`input.email`, `input.address.postalCode`), so the client sees which field is wrong
 * and nothing is sent upstream.
 */
import { validate, type ValidationError } from 'class-validator';
import type { ValidatorFn } from 'type-graphql';
import { BadUserInputError } from '../../errors.js';

function firstFailure(errors: ValidationError[], prefix: string): { field: string; message: string } | undefined {
  for (const error of errors) {
    const field = `${prefix}.${error.property}`;
    const message = error.constraints ? Object.values(error.constraints)[0] : undefined;
    if (message) return { field, message };
    const nested = firstFailure(error.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

/** type-graphql `validateFn`: validates object arguments (inputs); scalars are checked in resolvers. */
export const validateInputArgument: ValidatorFn = async (argValue, _argType, resolverData) => {
  if (argValue === null || typeof argValue !== 'object') return;
  // type-graphql does not pass the argument's name; find it among the resolver's args.
  const argName = Object.entries(resolverData.args).find(([, value]) => value === argValue)?.[0] ?? 'input';
  // skipMissingProperties: an omitted field means "unchanged" and null means "clear": neither is validated.
  const errors = await validate(argValue, { skipMissingProperties: true, forbidUnknownValues: false });
  const failure = firstFailure(errors, argName);
  if (failure) throw new BadUserInputError(failure.field, failure.message);
};

/** Refuses an update input in which no field was set at all (an update that would change nothing). */
export function requireSomeField(argName: string, input: object): void {
  if (!Object.values(input).some((value) => value !== undefined)) {
    throw new BadUserInputError(argName, 'set at least one field to update');
  }
}
